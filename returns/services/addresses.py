"""Return addresses: the merchant's warehouses that take returned goods (one per warehouse, one
default), and the address an approval picks for a request.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from aftersales import clock
from aftersales.casefile.timeline import timeline_record
from aftersales.errors import Conflict, InvalidInput
from orders.services.common import require_merchant_write

from ..models import ReturnAddress

ADDRESS_FIELDS = (
    "warehouse",
    "contact_name",
    "phone",
    "province",
    "city",
    "district",
    "street",
    "postal_code",
)
REQUIRED_FIELDS = ("warehouse", "contact_name", "phone", "province", "city", "street")


def _clean(values, *, partial=False):
    out = {}
    for field in ADDRESS_FIELDS:
        if field in values and values[field] is not None:
            out[field] = str(values[field]).strip()
    missing = [f for f in REQUIRED_FIELDS if (f in out or not partial) and not out.get(f)]
    if missing:
        raise InvalidInput(
            _("请填写完整的退货地址。"),
            code="address_incomplete",
            fields=dict.fromkeys(missing, "required"),
        )
    return out


def _same_warehouse(merchant_id, warehouse, exclude=None):
    qs = ReturnAddress.objects.filter(merchant_id=merchant_id, warehouse=warehouse, active=True)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    if qs.exists():
        raise Conflict(
            _("仓库「%(warehouse)s」已有退货地址。") % {"warehouse": warehouse},
            code="warehouse_address_exists",
            fields={"warehouse": warehouse},
        )


def _make_default(address):
    ReturnAddress.objects.filter(
        merchant_id=address.merchant_id, active=True, is_default=True
    ).exclude(pk=address.pk).update(is_default=False)
    address.is_default = True


def return_address_create(*, actor, merchant_id, is_default=False, **values):
    """Add a warehouse's return address for ``merchant_id`` (merchant staff of it, or platform
    writers). The merchant's first address is its default."""
    require_merchant_write(actor, merchant_id)
    fields = _clean(values)
    with transaction.atomic():
        # one writer per merchant at a time: the default and the warehouse stay unique
        list(ReturnAddress.objects.select_for_update().filter(merchant_id=merchant_id, active=True))
        _same_warehouse(merchant_id, fields["warehouse"])
        address = ReturnAddress(merchant_id=merchant_id, **fields)
        first = not ReturnAddress.objects.filter(merchant_id=merchant_id, active=True).exists()
        if is_default or first:
            _make_default(address)
        address.save()
        timeline_record(
            subject=address, verb="return_address.created", actor=actor, data=_data(address)
        )
    return address


def return_address_update(*, address, actor, is_default=None, **values):
    """Change an address (the requests approved with it show the new text)."""
    require_merchant_write(actor, address.merchant_id)
    fields = _clean(values, partial=True)
    with transaction.atomic():
        list(
            ReturnAddress.objects.select_for_update().filter(
                merchant_id=address.merchant_id, active=True
            )
        )
        address = ReturnAddress.objects.get(pk=address.pk)
        if not address.active:
            raise Conflict(_("该退货地址已停用。"), code="address_archived")
        if "warehouse" in fields:
            _same_warehouse(address.merchant_id, fields["warehouse"], exclude=address.pk)
        for field, value in fields.items():
            setattr(address, field, value)
        if is_default:
            _make_default(address)
        address.updated_at = clock.now()
        address.save()
        timeline_record(
            subject=address, verb="return_address.updated", actor=actor, data=_data(address)
        )
    return address


def return_address_archive(*, address, actor):
    """Stop using an address (kept for the requests approved with it); another one becomes the
    default if it was."""
    require_merchant_write(actor, address.merchant_id)
    with transaction.atomic():
        rows = list(
            ReturnAddress.objects.select_for_update()
            .filter(merchant_id=address.merchant_id, active=True)
            .order_by("pk")
        )
        address = ReturnAddress.objects.get(pk=address.pk)
        if not address.active:
            return address
        address.active, was_default, address.is_default = False, address.is_default, False
        address.updated_at = clock.now()
        address.save(update_fields=["active", "is_default", "updated_at"])
        others = [r for r in rows if r.pk != address.pk]
        if was_default and others:
            ReturnAddress.objects.filter(pk=others[0].pk).update(is_default=True)
        timeline_record(subject=address, verb="return_address.archived", actor=actor)
    return address


def return_address_for(request, address=None):
    """The address an approval of ``request`` picks: ``address`` (an active one of the
    request's merchant), else the merchant's default, else its first active one, else
    ``None``."""
    active = ReturnAddress.objects.filter(merchant_id=request.merchant_id, active=True)
    if address is not None:
        address_id = getattr(address, "pk", address)
        chosen = active.filter(pk=address_id).first()
        if chosen is None:
            raise InvalidInput(
                _("请选择本店启用中的退货地址。"),
                code="return_address_invalid",
                fields={"return_address": address_id},
            )
        return chosen
    return active.order_by("-is_default", "pk").first()


def _data(address):
    return {"warehouse": address.warehouse, "is_default": address.is_default}
