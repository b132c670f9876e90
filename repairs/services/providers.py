"""Repair providers (standard 6.5.1): application, admission review, suspension and
reinstatement by the platform, and the provider's staff with their grants.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from aftersales import clock
from aftersales.casefile.statuses import status_move
from aftersales.casefile.timeline import timeline_record
from aftersales.casefile.uploads import check_upload, track_stored
from aftersales.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from aftersales.tenancy.actors import Actor, actor_for_user, actor_forget

from .. import rules
from ..models import RepairOrder, RepairProvider, RepairProviderMember, SanbaoCatalogEntry
from ..uploads import LICENCE
from .common import (
    grant_repairs,
    notify,
    publish,
    require_platform_write,
    revoke_repairs,
    users_of_provider,
)


def _clean_categories(categories):
    codes = [c.code if isinstance(c, SanbaoCatalogEntry) else str(c) for c in categories or []]
    entries = list(SanbaoCatalogEntry.objects.filter(code__in=codes))
    missing = sorted(set(codes) - {e.code for e in entries})
    if not codes or missing:
        raise InvalidInput(
            _("请选择三包目录中的维修类目。"),
            code="provider_categories_invalid",
            fields={"categories": missing or "required"},
        )
    return entries


def _clean_regions(regions):
    if not isinstance(regions, list | tuple) or not all(
        isinstance(r, str) and r.strip() and len(r) <= 20 for r in regions
    ):
        raise InvalidInput(
            _("服务地区应为省份名称列表。"),
            code="provider_regions_invalid",
            fields={"regions": "list"},
        )
    return sorted({r.strip() for r in regions})


def provider_apply(
    *,
    actor,
    name,
    licence_number,
    categories,
    regions=(),
    licence_file=None,
    licence_expires_on=None,
    contact_name="",
    contact_phone="",
    contact_email="",
    address="",
    service_hours="",
    owner=None,
):
    """A repairer applies for admission (standard 6.5.1): licence, categories, regions; status
    ``applied`` until platform staff review it (``provider_review``). ``address`` and
    ``service_hours`` tell consumers where and when to bring or mail their items.

    ``owner`` (a user without another role) becomes the provider's owner member; it can be the
    applicant themselves (``actor`` then has no role yet) or given by a platform writer who
    records an application received on paper. Licence numbers are unique.
    """
    if not actor.platform_write:
        if owner is None or not getattr(owner, "is_authenticated", False):
            raise PermissionDenied(_("请先登录再申请。"), code="sign_in_required")
        if actor.is_consumer or actor.is_merchant or actor.is_provider or actor.platform_read:
            raise PermissionDenied(
                _("该账号已有其他身份，请用新账号申请。"),
                code="account_has_role",
            )
    name, licence_number = (name or "").strip(), (licence_number or "").strip()
    if not name or not licence_number:
        raise InvalidInput(
            _("需要名称和资质编号。"),
            code="provider_incomplete",
            fields={"name": "required", "licence_number": "required"},
        )
    entries = _clean_categories(categories)
    regions = _clean_regions(list(regions or []))
    if owner is not None and RepairProviderMember.objects.filter(user=owner).exists():
        raise Conflict(_("该用户已属于一家维修服务商。"), code="already_provider_member")
    if licence_file:
        licence_file = check_upload(licence_file, accept=LICENCE, field_name="licence_file")
    with transaction.atomic():
        if RepairProvider.objects.filter(licence_number=licence_number).exists():
            raise Conflict(
                _("该资质编号已申请过。"),
                code="licence_number_taken",
                fields={"licence_number": licence_number},
            )
        now = clock.now()
        provider = RepairProvider.objects.create(
            name=name,
            licence_number=licence_number,
            licence_expires_on=licence_expires_on,
            regions=regions,
            contact_name=contact_name or "",
            contact_phone=contact_phone or "",
            contact_email=contact_email or "",
            address=address or "",
            service_hours=(service_hours or "")[:100],
            applied_at=now,
            updated_at=now,
        )
        if licence_file is not None:
            provider.licence_file = licence_file
            provider.save(update_fields=["licence_file"])
            track_stored(provider.licence_file)
        provider.categories.set(entries)
        if owner is not None:
            RepairProviderMember.objects.create(
                provider=provider, user=owner, role=RepairProviderMember.Role.OWNER
            )
        timeline_record(
            subject=provider,
            verb="repair_provider.applied",
            actor=actor if actor.is_authenticated else _applicant_actor(owner),
            to_status=provider.status,
            data={"categories": [e.code for e in entries], "regions": regions},
        )
        publish("repair_provider.applied", provider, _provider_payload(provider))
    if owner is not None:
        actor_forget(owner)
    return provider


def _applicant_actor(user):
    return Actor(kind="provider", user=user)


def _provider_payload(provider):
    return {
        "provider_id": provider.pk,
        "name": provider.name,
        "status": provider.status,
        "regions": provider.regions,
    }


def _provider_move(provider, *, to, actor, reason="", note_field=None):
    now = clock.now()
    moved = status_move(
        provider,
        to=to,
        actor=actor,
        moves=rules.PROVIDER_MOVES,
        reason=reason,
        verb=f"repair_provider.{to}",
        data={"name": provider.name},
    )
    fields = {"updated_at": now, "status_reason": reason[:300]}
    if to in ("approved", "rejected") and note_field:
        fields |= {
            "reviewed_by": actor.user if getattr(actor.user, "pk", None) else None,
            "reviewed_at": now,
            "review_note": reason[:300],
        }
    if to == "suspended":
        fields["suspended_at"] = now
    for key, value in fields.items():
        setattr(moved, key, value)
    moved.save(update_fields=list(fields))
    publish(f"repair_provider.{to}", moved, _provider_payload(moved))
    notify(
        users_of_provider(moved.pk),
        event=f"repair_provider.{to}",
        subject=moved,
        actor=actor,
        provider_id=moved.pk,
        provider_name=moved.name,
        status=RepairProvider.Status(moved.status).label,
        reason=reason,
    )
    return moved


def provider_review(*, provider, actor, approve, note=""):
    """Platform staff review an application: ``approve=True`` admits the provider (it can then
    be assigned repairs of its categories and regions), ``False`` rejects it with ``note``."""
    require_platform_write(actor)
    if not approve and not (note or "").strip():
        raise InvalidInput(_("驳回须说明原因。"), code="note_required", fields={"note": "required"})
    with transaction.atomic():
        return _provider_move(
            provider,
            to="approved" if approve else "rejected",
            actor=actor,
            reason=note or "",
            note_field=True,
        )


def provider_suspend(*, provider, actor, reason):
    """Suspend an admitted provider: no new repairs are assigned to it; its staff keep the
    repairs already assigned (they still hold the unit)."""
    require_platform_write(actor)
    if not (reason or "").strip():
        raise InvalidInput(
            _("暂停须说明原因。"), code="reason_required", fields={"reason": "required"}
        )
    with transaction.atomic():
        return _provider_move(provider, to="suspended", actor=actor, reason=reason)


def provider_reinstate(*, provider, actor, note=""):
    """Lift a suspension: the provider can be assigned repairs again."""
    require_platform_write(actor)
    with transaction.atomic():
        return _provider_move(provider, to="approved", actor=actor, reason=note or "")


def _require_provider_admin(actor, provider):
    if actor.platform_write:
        return
    if actor.is_provider and actor.provider_id == provider.pk:
        member = RepairProviderMember.objects.filter(user=actor.user, provider=provider).first()
        if member is not None and member.role == RepairProviderMember.Role.OWNER:
            return
        raise PermissionDenied(_("只有服务商负责人可以管理员工。"), code="provider_owner_required")
    if actor.platform_read:
        raise PermissionDenied(_("只读角色不能修改数据。"), code="read_only_role")
    raise NotFound()


def provider_member_add(*, provider, user, actor, role=RepairProviderMember.Role.TECHNICIAN):
    """Add a staff member to a provider (platform writers, or the provider's owner). The member
    is granted the provider's repair orders already assigned."""
    _require_provider_admin(actor, provider)
    if role not in RepairProviderMember.Role.values:
        raise InvalidInput(
            _("角色无效。"), code="role_invalid", fields={"role": RepairProviderMember.Role.values}
        )
    other = actor_for_user(user)
    if other.is_consumer or other.is_merchant or other.is_platform_staff:
        raise Conflict(_("该用户已有其他身份。"), code="account_has_role")
    with transaction.atomic():
        if RepairProviderMember.objects.filter(user=user).exists():
            raise Conflict(_("该用户已属于一家维修服务商。"), code="already_provider_member")
        member = RepairProviderMember.objects.create(provider=provider, user=user, role=role)
        grant_repairs([user], list(RepairOrder.objects.filter(provider=provider)))
        timeline_record(
            subject=provider,
            verb="repair_provider.member_added",
            actor=actor,
            data={"user_id": user.pk, "role": role},
        )
    actor_forget(user)
    return member


def provider_member_remove(*, member, actor):
    """Remove a staff member: their grants on the provider's repair orders go with them."""
    provider = member.provider
    _require_provider_admin(actor, provider)
    with transaction.atomic():
        user = member.user
        revoke_repairs([user], list(RepairOrder.objects.filter(provider=provider)))
        member.delete()
        actor_forget(user)
        timeline_record(
            subject=provider,
            verb="repair_provider.member_removed",
            actor=actor,
            data={"user_id": user.pk},
        )
