"""Order pages: the consumer's own orders (/my/orders/) and the merchant portal's orders
(/merchant/orders/), each a filtered, paginated list and a detail page with the parcel
trajectories (standard 6.2.3.2).

Views only parse input and call ``orders.selectors``; scoping lives there. An order outside
the caller's scope answers 404, exactly like one that does not exist.
"""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from aftersales.deadlines.engine import deadlines_for_many
from aftersales.errors import DomainError, NotFound
from aftersales.pii import mask_name
from aftersales.tenancy.decorators import consumer_required, merchant_required

from . import rules, selectors, services
from .forms import ShipmentForm
from .models import Order

PAGE_SIZE = 20


class OrderFilterForm(forms.Form):
    """The list filters; every field is optional and an invalid one is ignored."""

    q = forms.CharField(
        label=_("搜索"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("订单号或商品名称"), "type": "search"}),
    )
    status = forms.ChoiceField(
        label=_("状态"), required=False, choices=[("", _("全部状态")), *Order.Status.choices]
    )
    placed_from = forms.DateField(
        label=_("下单日期从"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    placed_to = forms.DateField(
        label=_("至"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("placed_from"), data.get("placed_to")
        if start and end and start > end:
            self.add_error("placed_to", _("结束日期不能早于开始日期。"))
        return data

    def filters(self):
        """The valid filters as ``order_list`` takes them."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            key: value
            for key, value in data.items()
            if value not in (None, "") and key not in self.errors
        }


def _portal_context(portal):
    return {
        "portal": portal,
        "portal_shell": f"portal/{portal}.html",
        "nav": "orders",
        "detail_url": f"{portal}:order-detail",
        "list_url": f"{portal}:order-list",
    }


def _order_list_page(request, *, portal):
    form = OrderFilterForm(request.GET or None)
    filters = form.filters() if request.GET else {}
    # The page's rows show their lines: one extra query per page, whatever its size.
    orders = selectors.order_list(actor=request.actor, filters=filters)
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        **_portal_context(portal),
        "form": form,
        "page": page,
        "orders": page.object_list,
        "filtered": bool(filters),
        "query": query.urlencode(),
    }
    template = "orders/order_list.html"
    if getattr(request, "htmx", False) and request.htmx.target == "order-results":
        template += "#results"
    response = render(request, template, context)
    # The same URL answers a whole page or, to htmx, just the results.
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def _order_detail(request, pk):
    try:
        return selectors.order_get(actor=request.actor, pk=pk)
    except NotFound:
        raise Http404 from None


def _order_detail_page(request, pk, *, portal, mask, ship_form=None, status=200):
    order = _order_detail(request, pk)
    lines = {line.pk: line for line in order.lines.all()}
    for shipment in order.shipments.all():
        # Reuse the prefetched lines instead of one query per parcel.
        if shipment.line_id in lines:
            shipment.line = lines[shipment.line_id]
        sign_off = getattr(shipment, "sign_off", None)
        if sign_off is not None:
            # Merchants see the consumer's personal data masked (RULES.md D2), the signer too.
            signer = sign_off.signer_name
            sign_off.signer_display = mask_name(signer) if mask else signer
            sign_off.relation_display = sign_off.get_signer_relation_display()
    # Issue 3: every case shows what is due and what happens then (the 72 h logistics alert).
    deadlines = deadlines_for_many([order, *order.shipments.all()])
    to_ship = rules.unshipped_lines(order) if portal == "merchant" else []
    if to_ship and ship_form is None:
        ship_form = ShipmentForm(lines=to_ship)
    context = {
        **_portal_context(portal),
        "order": order,
        "masked": mask,
        "deadlines": deadlines,
        "ship_form": ship_form if to_ship else None,
    }
    return render(request, "orders/order_detail.html", context, status=status)


@consumer_required
def my_order_list(request):
    return _order_list_page(request, portal="my")


@consumer_required
def my_order_detail(request, pk):
    return _order_detail_page(request, pk, portal="my", mask=False)


@merchant_required
def merchant_order_list(request):
    return _order_list_page(request, portal="merchant")


@merchant_required
def merchant_order_detail(request, pk):
    return _order_detail_page(request, pk, portal="merchant", mask=True)


@merchant_required
@require_POST
def merchant_order_ship(request, pk):
    """The merchant ships a line from the portal: carrier and tracking number
    (``services.shipment_create``, as the API's ``POST /shipments/``)."""
    order = _order_detail(request, pk)
    form = ShipmentForm(request.POST, lines=rules.unshipped_lines(order))
    if form.is_valid():
        line = next(x for x in order.lines.all() if x.pk == form.cleaned_data["line"])
        try:
            shipment = services.shipment_create(
                line=line,
                carrier=form.cleaned_data["carrier"],
                tracking_number=form.cleaned_data["tracking_number"],
                actor=request.actor,
            )
        except NotFound:
            raise Http404 from None
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                gettext("已发货：%(carrier)s %(number)s")
                % {"carrier": shipment.carrier, "number": shipment.tracking_number},
            )
            return redirect("merchant:order-detail", pk=order.pk)
    return _order_detail_page(request, pk, portal="merchant", mask=True, ship_form=form, status=400)
