"""Return pages (issue 4): the consumer's self-service under /my/ and the merchant portal under
/merchant/.

- ``/my/lines/<pk>/after-sales/``: what the consumer may ask for on an order line right now and
  why (``rules.return_options``: the rule and the date that decides it), and the request form.
- ``/my/returns/`` and ``/my/returns/<pk>/``: the consumer's requests: status, pending deadlines
  with their countdown, refund progress per tender, evidence, timeline; ship back or book a
  pickup, cancel, escalate to arbitration.
- ``/merchant/returns/``: the merchant's queue, soonest deadline first; the detail shows the
  consumer's data masked (RULES.md D2) and the merchant's actions: approve, reject, confirm
  receipt with the inspection, ship the replacement, answer in arbitration.

Views parse input and call one service or selector; every rule lives in ``returns.services``
(a ``DomainError`` becomes a form error). A request outside the caller's scope answers 404.
"""

import re
from dataclasses import asdict
from functools import wraps
from types import SimpleNamespace

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from aftersales import clock
from aftersales.casefile.files import private_file_response
from aftersales.casefile.timeline import timeline_for, timeline_verb_label
from aftersales.deadlines.engine import deadlines_for_many
from aftersales.deadlines.models import Deadline
from aftersales.deadlines.registry import deadline_description
from aftersales.errors import DomainError, NotFound
from aftersales.templatetags.components import DeadlineRow, deadline_rows
from aftersales.tenancy.decorators import consumer_required, merchant_required
from orders import selectors as order_selectors
from orders import services as order_services
from orders.models import OrderLine

from . import forms, rules, selectors, services
from .citations import citation
from .models import ExchangeDifferencePayment, ReturnRequest
from .services import payments

PAGE_SIZE = 20

OPTION_LABELS = {
    rules.REFUND_ONLY_UNSHIPPED: gettext_lazy("未发货仅退款（秒退）"),
    rules.NO_REASON_RETURN: gettext_lazy("七天无理由退货"),
    rules.SPEC_EXCHANGE: gettext_lazy("换规格/型号"),
    rules.QUALITY_RETURN: gettext_lazy("质量问题退货"),
    rules.QUALITY_EXCHANGE: gettext_lazy("质量问题换货"),
}
REASON_KIND_LABELS = {
    rules.NO_REASON: gettext_lazy("无理由退货运费"),
    rules.QUALITY: gettext_lazy("质量问题运费"),
}
ACTOR_LABELS = {
    "consumer": gettext_lazy("消费者"),
    "merchant": gettext_lazy("商家"),
    "platform": gettext_lazy("平台"),
    "integrator": gettext_lazy("商家系统"),
    "system": gettext_lazy("系统"),
}
STATUS_LABELS = dict(ReturnRequest.Status.choices)
CODE = re.compile(r"[a-z_]+")  # a machine reason (``consumer_cancelled``): not shown
FINISHED = ("closed", "cancelled", "completed", "refunded")  # no more evidence (services)


# -- helpers --------------------------------------------------------------------------------------


def _portal_context(portal):
    return {
        "portal": portal,
        "portal_shell": f"portal/{portal}.html",
        "nav": "returns",
        "list_url": f"{portal}:return-list",
        "detail_url": f"{portal}:return-detail",
        "order_url": f"{portal}:order-detail",
        "evidence_url": f"{portal}:return-evidence",
    }


def _or_404(fn, **kwargs):
    try:
        return fn(**kwargs)
    except NotFound:
        raise Http404 from None


def _get_request(request, pk):
    """The request ``pk`` if the caller may see it (else 404), with its arbitration."""
    r = _or_404(selectors.return_request_get, actor=request.actor, pk=pk)
    r.arbitration_cached = selectors.arbitration_of(r)
    return r


def _timeline(events):
    """The request's steps as people follow them, newest first: its own events and the
    deadlines that acted on it (scheduling and notification bookkeeping stays in the admin).
    Who acted is shown by role, never by account (the merchant sees no consumer login)."""
    rows = []
    for event in reversed(list(events)):
        if event.verb == "deadline.fired":
            kind = (event.data or {}).get("kind", "")
            title = _("到期自动处理：%(what)s") % {"what": deadline_description(kind) or kind}
        elif event.verb.startswith("return."):
            # The names the admin shows too (returns.labels, registered with the kernel).
            title = timeline_verb_label(event.verb) or STATUS_LABELS.get(
                event.to_status, event.verb
            )
        else:
            continue
        rows.append(
            {
                "title": title,
                "who": ACTOR_LABELS.get(event.actor_kind, event.actor_kind),
                "reason": "" if CODE.fullmatch(event.reason or "") else event.reason,
                "occurred_at": event.occurred_at,
            }
        )
    return rows


def _list_page(request, *, portal):
    form = forms.QueueFilterForm(request.GET or None)
    filters = form.filters() if request.GET else {}
    page = Paginator(
        selectors.return_request_queue(actor=request.actor, filters=filters), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    requests = list(page.object_list)
    now = clock.now()
    nearest = {}
    for deadline in deadlines_for_many(requests):  # soonest first: keep each request's first
        if deadline.state == Deadline.State.PENDING:  # a paused one is not counting down
            nearest.setdefault(deadline.subject_id, DeadlineRow(deadline, now))
    for r in requests:
        r.next_due = nearest.get(r.pk)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        **_portal_context(portal),
        "form": form,
        "page": page,
        "requests": requests,
        "filtered": bool(filters),
        "query": query.urlencode(),
    }
    template = "returns/return_list.html"
    if getattr(request, "htmx", False) and request.htmx.target == "return-results":
        template += "#results"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def _detail_page(request, r, *, portal, actions, status=200):
    masked = portal == "merchant"
    now = clock.now()
    deadlines = deadline_rows(selectors.return_request_deadlines(r), now=now)
    evidence = list(r.evidence.all())
    for item in evidence:
        item.filename = item.display_name
    context = {
        **_portal_context(portal),
        "r": r,
        "masked": masked,
        "deadlines": deadlines,
        "actions": {name: form for name, form in actions.items() if form is not None},
        "has_actions": any(
            form is not None for name, form in actions.items() if name != "evidence"
        ),
        "refund": selectors.refund_of(r),
        "arbitration": r.arbitration_cached,
        "evidence": evidence,
        "events": _timeline(timeline_for(r)),
        "price_refund": -r.price_difference if r.price_difference < 0 else None,
        "status_reason": "" if CODE.fullmatch(r.status_reason or "") else r.status_reason,
        "return_addresses": _approve_addresses(request, r, portal, actions),
    }
    return render(request, "returns/return_detail.html", context, status=status)


def _approve_addresses(request, r, portal, actions):
    """The merchant's return addresses to choose from when approving a return or exchange."""
    if portal != "merchant" or actions.get("approve") is None or not r.needs_return_parcel:
        return []
    return list(
        selectors.return_address_list(actor=request.actor).filter(merchant_id=r.merchant_id)
    )


def _action(portal, name, form_class, *, files=False):
    """A POST that runs one service: on success back to the detail page with a message; on a
    refusal the detail page again, with the form and its errors (400)."""
    guard = consumer_required if portal == "my" else merchant_required

    def decorator(run):
        @guard
        @require_POST
        @wraps(run)
        def view(request, pk):
            r = _get_request(request, pk)
            form = form_class(request.POST, request.FILES if files else None)
            if form.is_valid():
                try:
                    message = run(request, r, form.cleaned_data)
                except DomainError as exc:
                    if isinstance(exc, NotFound):
                        raise Http404 from None
                    forms.add_domain_error(form, exc)
                else:
                    messages.success(request, message)
                    return redirect(f"{portal}:return-detail", pk=r.pk)
            r = _get_request(request, pk)
            actions = (my_actions if portal == "my" else merchant_actions)(r)
            actions[name] = form
            return _detail_page(request, r, portal=portal, actions=actions, status=400)

        return view

    return decorator


def _evidence_file(request, pk, evidence_pk):
    r = _get_request(request, pk)
    item = next((e for e in r.evidence.all() if e.pk == evidence_pk and e.file), None)
    if item is None:
        raise Http404
    return private_file_response(item.file, filename=item.original_name)


# -- consumer: an order line's after-sales options and the request form ---------------------------


def _exchange_choices(line, skus):
    """Other specs of the same product in stock, each with its price difference per unit
    (RULES.md R18: charged when positive, refunded when negative)."""
    paid = line.unit_paid_price
    choices = []
    for sku in skus:
        difference = sku.price - paid
        if difference > 0:
            note = _("补差价 ¥%(d)s/件") % {"d": difference}
        elif difference < 0:
            note = _("退差价 ¥%(d)s/件") % {"d": -difference}
        else:
            note = _("无差价")
        choices.append((sku.pk, f"{sku.spec or sku.code} · ¥{sku.price} · {note}"))
    return choices


def _shown_option(option, skus):
    """An option as the line page shows it; an open spec exchange without another spec in
    stock says so (R18: "where stock exists")."""
    shown = SimpleNamespace(**asdict(option), label=OPTION_LABELS.get(option.kind, option.kind))
    if option.kind == rules.SPEC_EXCHANGE and option.available and not skus:
        shown.available = False
        shown.code = "exchange_out_of_stock"
        shown.message = _(
            "该商品暂无其他有库存的规格或型号，暂不能在线换规格（%(basis)s）；可申请退货后重新购买"
        ) % {"basis": citation("R18")}
    return shown


def _line_form(request, line, options, skus, data=None, files=None):
    """The request form, offering the kinds and reasons the open options allow."""
    open_now = [o for o in options if o.available]
    kinds = list(dict.fromkeys(k for o in open_now for k in o.request_kinds))
    if not skus:  # R18 needs another spec in stock
        kinds = [k for k in kinds if k != ReturnRequest.Kind.SPEC_EXCHANGE]
    reasons = {r for o in open_now for r in o.reasons}
    instant = any(o.instant for o in open_now)
    max_quantity = max((o.max_quantity for o in open_now), default=0)
    initial = {"quantity": max_quantity if instant else 1}
    if request.GET.get("kind") in kinds:
        initial["kind"] = request.GET["kind"]
    form = forms.ReturnRequestForm(
        data,
        files,
        initial=initial,
        kinds=kinds,
        max_quantity=max_quantity,
        exchange_skus=_exchange_choices(line, skus),
    )
    form.fields["reason"].choices = [
        ("", _("请选择原因")),
        *[(v, label) for v, label in forms.REASON_CHOICES if v in reasons],
    ]
    return form


def _request_from_form(request, line, form, skus):
    """Create the request the valid ``form`` describes; ``None`` with the form's errors set
    when a rule refuses it."""
    data = form.cleaned_data
    try:
        return services.return_request_create(
            line=line,
            kind=data["kind"],
            reason=data["reason"],
            quantity=data["quantity"],
            description=data["description"],
            evidence=data["evidence"],
            exchange_sku=next((s for s in skus if s.pk == data["exchange_sku"]), None),
            actor=request.actor,
        )
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        forms.add_domain_error(form, exc)
        return None


@consumer_required
def my_line_after_sales(request, pk):
    # The scoped read first: a line outside the consumer's orders answers 404.
    options = _or_404(selectors.line_return_options, actor=request.actor, line=pk)
    line = OrderLine.objects.select_related("order", "sku__product__category").get(pk=pk)
    skus = list(
        order_selectors.sku_list(actor=request.actor)
        .filter(product_id=line.sku.product_id, stock__gt=0)
        .exclude(pk=line.sku_id)
        .order_by("price", "id")
    )
    options = [_shown_option(o, skus) for o in options]
    status = 200
    if request.method == "POST":
        form = _line_form(request, line, options, skus, request.POST, request.FILES)
        created = _request_from_form(request, line, form, skus) if form.is_valid() else None
        if created is not None:
            messages.success(request, _("售后申请 %(n)s 已提交。") % {"n": created.number})
            return redirect("my:return-detail", pk=created.pk)
        status = 400
    else:
        form = _line_form(request, line, options, skus)
    open_now = [o for o in options if o.available]
    threshold = order_services.high_value_threshold(line)
    reason_kinds = {rules.reason_kind(r) for o in open_now if not o.instant for r in o.reasons}
    context = {
        **_portal_context("my"),
        "line": line,
        "order": line.order,
        "options": options,
        "max_quantity": max((o.max_quantity for o in open_now), default=0),
        "can_request": bool(open_now),
        "form": form,
        "shipping": [
            {"label": REASON_KIND_LABELS[kind], "payer": services.line_shipping_payer(line, kind)}
            for kind in (rules.NO_REASON, rules.QUALITY)
            if kind in reason_kinds
        ],
        "insured": rules.is_insured(line.unit_paid_price, threshold),
        "insured_threshold": threshold,
        "line_requests": selectors.return_request_list(
            actor=request.actor, filters={"line": line.pk}
        ),
    }
    return render(request, "returns/line_after_sales.html", context, status=status)


# -- consumer: requests ---------------------------------------------------------------------------


def my_actions(r):
    """The consumer's forms that the request's status allows now."""
    parcel_due = r.needs_return_parcel and r.status == ReturnRequest.Status.APPROVED
    pickup_open = r.pickup is None or r.pickup.status in ("failed", "cancelled")
    owes = payments.difference_due(r) > 0 and r.status in payments.DIFFERENCE_PAYABLE_STATUSES
    return {
        "pay_difference": forms.PayDifferenceForm() if owes and not _paying(r) else None,
        "ship": forms.ShipBackForm() if parcel_due else None,
        "pickup": forms.PickupForm() if parcel_due and pickup_open else None,
        "escalate": forms.StatementForm() if r.can_escalate() else None,
        "cancel": forms.ConfirmForm() if r.can_cancel() else None,
        "evidence": forms.EvidenceForm() if r.status not in FINISHED else None,
    }


@consumer_required
def my_return_list(request):
    return _list_page(request, portal="my")


@consumer_required
def my_return_detail(request, pk):
    r = _get_request(request, pk)
    return _detail_page(request, r, portal="my", actions=my_actions(r))


def _paying(r):
    return ExchangeDifferencePayment.objects.filter(request_id=r.pk, status="pending").exists()


@_action("my", "ship", forms.ShipBackForm)
def my_return_ship(request, r, data):
    services.return_ship_back(
        request=r,
        actor=request.actor,
        carrier=data["carrier"],
        tracking_number=data["tracking_number"],
        shipping_fee=data.get("shipping_fee"),
    )
    return _("已提交退货运单号，商家收货后将验货处理。")


@_action("my", "pickup", forms.PickupForm)
def my_return_pickup(request, r, data):
    start, end = data["slot"]
    services.return_pickup_book(
        request=r,
        actor=request.actor,
        slot_start=start,
        slot_end=end,
        shipping_fee=data.get("shipping_fee"),
    )
    return _("已预约上门取件，快递员确认后会通知您。")


@_action("my", "pay_difference", forms.PayDifferenceForm)
def my_return_pay_difference(request, r, data):
    payments.exchange_difference_pay(request=r, actor=request.actor, method=data["method"])
    return _("差价支付已提交，支付成功后商家即可发出换货（%(basis)s）。") % {
        "basis": citation("R18")
    }


@_action("my", "cancel", forms.ConfirmForm)
def my_return_cancel(request, r, data):
    services.return_request_cancel(request=r, actor=request.actor)
    return _("售后申请已撤销。")


@_action("my", "escalate", forms.StatementForm, files=True)
def my_return_escalate(request, r, data):
    services.return_escalate(
        request=r, actor=request.actor, statement=data["statement"], evidence=data["evidence"]
    )
    return _("已申请平台仲裁，平台将依据双方证据作出裁决。")


def _add_evidence(request, r, data):
    services.evidence_add(
        request=r, actor=request.actor, evidence=data["evidence"], note=data["note"]
    )
    return _("凭证已上传。")


my_return_evidence_add = _action("my", "evidence", forms.EvidenceForm, files=True)(_add_evidence)
merchant_return_evidence_add = _action("merchant", "evidence", forms.EvidenceForm, files=True)(
    _add_evidence
)


@consumer_required
def my_return_evidence(request, pk, evidence_pk):
    return _evidence_file(request, pk, evidence_pk)


# -- merchant portal ------------------------------------------------------------------------------


EXPRESS_SETTLED_MESSAGE = gettext_lazy(
    "平台已为消费者垫付极速退款：已确认收货，售后完成；"
    "垫付的 ¥%(amount)s 将从您的结算款中扣回（R12）。"
)


def merchant_actions(r):
    """The merchant's forms that the request's status allows now."""
    status = r.status
    arbitration = r.arbitration_cached
    return {
        "approve": forms.ConfirmForm() if status == ReturnRequest.Status.REQUESTED else None,
        "reject": forms.RejectForm() if status == ReturnRequest.Status.REQUESTED else None,
        # an express refund signed for by the carrier still waits for the merchant's inspection
        "receive": forms.InspectionForm()
        if r.needs_return_parcel
        and (
            status == ReturnRequest.Status.RETURN_SHIPPED
            or (r.express and status == "received" and r.inspection_intact is None)
        )
        else None,
        "replacement": forms.ParcelForm()
        if r.is_exchange
        and (
            (status == ReturnRequest.Status.RECEIVED and r.inspection_intact is not False)
            or (
                status == ReturnRequest.Status.ARBITRATION
                and arbitration is not None
                and arbitration.decision == "reject"
            )
        )
        else None,
        "refund": forms.ConfirmForm()
        if not r.is_exchange
        and (
            (status == ReturnRequest.Status.RECEIVED and r.inspection_intact is not False)
            or status == ReturnRequest.Status.DISPUTED
        )
        and not (r.express and status == ReturnRequest.Status.RECEIVED)
        else None,
        "answer": forms.StatementForm()
        if arbitration is not None and arbitration.status != "decided"
        else None,
        "evidence": forms.EvidenceForm() if status not in FINISHED else None,
    }


@merchant_required
def merchant_return_list(request):
    return _list_page(request, portal="merchant")


@merchant_required
def merchant_return_detail(request, pk):
    r = _get_request(request, pk)
    return _detail_page(request, r, portal="merchant", actions=merchant_actions(r))


class ApproveForm(forms.ConfirmForm):
    """Approving needs no confirmation box: it is not destructive. ``return_address``: the
    warehouse the goods go back to (the service checks it is the merchant's; empty: the
    default)."""

    return_address = forms.forms.IntegerField(required=False, min_value=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["confirm"].required = False


@_action("merchant", "approve", ApproveForm)
def merchant_return_approve(request, r, data):
    services.return_request_approve(
        request=r, actor=request.actor, return_address=data.get("return_address")
    )
    return _("已同意售后申请 %(number)s。") % {"number": r.number}


@_action("merchant", "reject", forms.RejectForm, files=True)
def merchant_return_reject(request, r, data):
    services.return_request_reject(
        request=r, actor=request.actor, reason=data["reason"], evidence=data["evidence"]
    )
    return _("已拒绝售后申请 %(number)s。") % {"number": r.number}


@_action("merchant", "receive", forms.InspectionForm, files=True)
def merchant_return_receive(request, r, data):
    services.return_receive(
        request=r,
        actor=request.actor,
        intact=data["intact"],
        note=data["note"],
        evidence=data["evidence"],
    )
    if data["intact"] and r.express:
        return EXPRESS_SETTLED_MESSAGE % {"amount": r.amount}
    if data["intact"]:
        return _("已确认收货，商品完好：请在 7 天内完成退款或换货（R6）。")
    return _("已确认收货并提交验货异议，消费者可申请平台仲裁（R5、R19）。")


@_action("merchant", "refund", forms.ConfirmForm)
def merchant_return_refund(request, r, data):
    refund = services.return_refund(request=r, actor=request.actor)
    if r.express:
        return EXPRESS_SETTLED_MESSAGE % {"amount": r.amount}
    return _("已发起退款 ¥%(amount)s，将按原支付方式退回（R7）。") % {"amount": refund.amount}


@_action("merchant", "replacement", forms.ParcelForm)
def merchant_return_ship_replacement(request, r, data):
    services.exchange_ship(
        request=r,
        actor=request.actor,
        carrier=data["carrier"],
        tracking_number=data["tracking_number"],
    )
    return _("换货商品已发出。")


@_action("merchant", "answer", forms.StatementForm, files=True)
def merchant_return_answer(request, r, data):
    services.arbitration_answer(
        request=r, actor=request.actor, statement=data["statement"], evidence=data["evidence"]
    )
    return _("已提交仲裁答辩。")


@merchant_required
def merchant_return_evidence(request, pk, evidence_pk):
    return _evidence_file(request, pk, evidence_pk)


# -- merchant: return addresses -------------------------------------------------------------------


def _address_page(request, *, form, editing=None, status=200):
    context = {
        **_portal_context("merchant"),
        "nav": "return-addresses",
        "addresses": list(selectors.return_address_list(actor=request.actor)),
        "form": form,
        "editing": editing,
    }
    return render(request, "returns/return_addresses.html", context, status=status)


def _address_of(request, pk):
    address = selectors.return_address_list(actor=request.actor).filter(pk=pk).first()
    if address is None:
        raise Http404
    return address


@merchant_required
def merchant_return_addresses(request):
    """The merchant's return addresses, one per warehouse, and the form to add one."""
    if request.method != "POST":
        return _address_page(request, form=forms.ReturnAddressForm())
    form = forms.ReturnAddressForm(request.POST)
    if form.is_valid():
        try:
            services.return_address_create(
                actor=request.actor, merchant_id=request.actor.merchant_id, **form.cleaned_data
            )
        except DomainError as exc:
            forms.add_domain_error(form, exc)
        else:
            messages.success(request, _("退货地址已添加。"))
            return redirect("merchant:return-address-list")
    return _address_page(request, form=form, status=400)


@merchant_required
def merchant_return_address_edit(request, pk):
    """Change one address (or make it the default)."""
    address = _address_of(request, pk)
    if request.method != "POST":
        initial = {f: getattr(address, f) for f in forms.ReturnAddressForm.base_fields}
        form = forms.ReturnAddressForm(initial=initial)
        return _address_page(request, form=form, editing=address)
    form = forms.ReturnAddressForm(request.POST)
    if form.is_valid():
        try:
            services.return_address_update(
                address=address, actor=request.actor, **form.cleaned_data
            )
        except DomainError as exc:
            forms.add_domain_error(form, exc)
        else:
            messages.success(request, _("退货地址已保存。"))
            return redirect("merchant:return-address-list")
    return _address_page(request, form=form, editing=address, status=400)


@merchant_required
@require_POST
def merchant_return_address_archive(request, pk):
    """Stop using an address; requests approved with it keep it."""
    services.return_address_archive(address=_address_of(request, pk), actor=request.actor)
    messages.success(request, _("退货地址已停用。"))
    return redirect("merchant:return-address-list")
