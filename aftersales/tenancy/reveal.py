"""Personal-data reveals (RULES.md D3): who may see a person's unmasked values, and the log of
every showing."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales import clock
from aftersales.casefile.models import ActorKind
from aftersales.errors import InvalidInput, NotFound, PermissionDenied
from aftersales.pii import EncryptedTextField
from aftersales.tenancy.models import PiiAccessLog

SELF_REVEAL_REASON = gettext_lazy("本人查看")
# Read-only platform staff (auditors) reveal only with this permission, granted to them by hand.
REVEAL_PERMISSION = "aftersales.reveal_personal_data"


def _address_values(address):
    return {
        "id": address.pk,
        "recipient": address.recipient,
        "phone": address.phone,
        "province": address.province,
        "city": address.city,
        "district": address.district,
        "street": address.street,
        "unit": address.unit,
        "is_default": address.is_default,
    }


# Extra revealable fields that are not encrypted columns of the subject itself.
_REVEAL_EXTRA = {
    "aftersales.consumerprofile": {
        "addresses": lambda c: [_address_values(a) for a in c.addresses.order_by("pk")],
    },
}


# Apps below the kernel register who else may reveal values of their own models, and how those
# values are read (``pii_reveal_register``); the kernel never imports them (ARCHITECTURE.md).
_REVEAL_GRANTS = {}


def pii_reveal_register(model_label, *, fields, allows):
    """Let ``pii_reveal`` serve the app model ``model_label`` (``"repairs.repairorder"``).

    ``fields`` maps each revealable name to ``fn(subject) -> value``; ``allows(actor, subject)``
    says whether an actor beyond platform staff may see them (the repairs app: the assigned
    provider's staff, for an on-site visit). A reason is still required and every showing is
    logged like any other (RULES.md D3)."""
    _REVEAL_EXTRA.setdefault(model_label, {}).update(fields)
    _REVEAL_GRANTS[model_label] = allows


def pii_revealable_fields(model):
    """The field names ``pii_reveal`` accepts for ``model``: its encrypted fields and extras."""
    names = [f.name for f in model._meta.local_fields if isinstance(f, EncryptedTextField)]
    return names + list(_REVEAL_EXTRA.get(model._meta.label_lower, {}))


def staff_may_reveal(actor):
    """Whether platform staff ``actor`` may reveal consumers' personal data: writers may;
    read-only staff (auditors) only with ``REVEAL_PERMISSION`` granted by hand."""
    return actor.platform_write or actor.user.has_perm(REVEAL_PERMISSION)


def pii_reveal(*, actor, subject, fields, reason=""):
    """Return unmasked values of ``fields`` on ``subject`` and log who saw them (RULES.md D3).

    Only platform staff who may read every tenant (agents, managers, superusers; auditors only
    with the ``REVEAL_PERMISSION`` staff granted them by hand, else ``PermissionDenied``) see
    another person's unmasked values, with a reason; a consumer may see their own; an app may
    grant more for its own model (``pii_reveal_register``), with a reason too. Merchants and
    everyone else get ``NotFound`` (they must not learn the record exists); platform-scoped API
    keys get ``PermissionDenied``: a machine has no reason to read a person's full details.
    """
    own = (
        actor.is_consumer
        and subject._meta.label_lower == "aftersales.consumerprofile"
        and subject.pk == actor.consumer_id
    )
    grant = _REVEAL_GRANTS.get(subject._meta.label_lower)
    granted = not own and grant is not None and grant(actor, subject)
    if not (own or granted):
        if actor.kind == ActorKind.INTEGRATOR and actor.platform_read:
            raise PermissionDenied(
                _("API 密钥不能查看完整个人信息。"),
                code="pii_reveal_forbidden",
            )
        if not (actor.kind == ActorKind.PLATFORM and actor.platform_read):
            raise NotFound()
        if not staff_may_reveal(actor):
            raise PermissionDenied(
                _("审计员可查阅个人信息查看记录，但查看完整个人信息须由平台管理员单独授权。"),
                code="pii_reveal_not_granted",
            )
    reason = (reason or "").strip() or (str(SELF_REVEAL_REASON) if own else "")
    if not reason:
        raise InvalidInput(
            _("查看完整个人信息必须说明原因。"),
            code="reveal_reason_required",
            fields={"reason": "required"},
        )
    fields = list(dict.fromkeys(fields or []))
    allowed = pii_revealable_fields(type(subject))
    unknown = [f for f in fields if f not in allowed]
    if not fields or unknown:
        raise InvalidInput(
            _("请选择要查看的字段。"),
            code="pii_field_unknown",
            fields={"fields": allowed},
        )
    extra = _REVEAL_EXTRA.get(subject._meta.label_lower, {})
    values = {f: (extra[f](subject) if f in extra else getattr(subject, f)) for f in fields}
    PiiAccessLog.objects.create(
        subject_type=subject._meta.label_lower,
        subject_id=subject.pk,
        fields=fields,
        reason=reason[:200],
        occurred_at=clock.now(),
        **actor.timeline_fields(),
    )
    return values
