"""Writes of tenancy: merchants, members, consumers, API keys."""

from django.db import transaction
from django.utils.translation import gettext as _

from aftersales import clock
from aftersales.casefile.timeline import timeline_record
from aftersales.errors import Conflict, InvalidInput
from aftersales.pii import blind_index
from aftersales.tenancy.models import (
    ApiKey,
    ConsumerAddress,
    ConsumerProfile,
    Merchant,
    MerchantMember,
    User,
)


def merchant_create(*, code, name, contact_email="", is_active=True, actor):
    """Create a merchant (platform staff or a platform-scoped integrator)."""
    with transaction.atomic():
        if Merchant.objects.filter(code=code).exists():
            raise Conflict(
                _("商家编码 %(code)s 已存在。") % {"code": code},
                code="merchant_code_taken",
                fields={"code": code},
            )
        merchant = Merchant.objects.create(
            code=code, name=name, contact_email=contact_email, is_active=is_active
        )
        timeline_record(subject=merchant, verb="merchant.created", actor=actor)
    return merchant


def merchant_update(*, merchant, actor, **changes):
    """Change a merchant's name, contact email or active flag."""
    allowed = {"name", "contact_email", "is_active"}
    with transaction.atomic():
        merchant = Merchant.objects.select_for_update().get(pk=merchant.pk)
        for field, value in changes.items():
            if field in allowed:
                setattr(merchant, field, value)
        merchant.save()
        timeline_record(
            subject=merchant,
            verb="merchant.updated",
            actor=actor,
            data={k: v for k, v in changes.items() if k in allowed},
        )
    return merchant


def member_add(*, merchant, username, password=None, role=MerchantMember.Role.AGENT, actor):
    """Give ``username`` (created if new) a seat at ``merchant``."""
    with transaction.atomic():
        user, created = User.objects.get_or_create(username=username)
        if created:
            if password:
                user.set_password(password)
            else:
                user.set_unusable_password()
            user.save()
        if hasattr(user, "merchant_member"):
            raise Conflict(_("该用户已属于某个商家。"), code="member_exists")
        member = MerchantMember.objects.create(merchant=merchant, user=user, role=role)
        timeline_record(
            subject=merchant,
            verb="member.added",
            actor=actor,
            data={"username": username, "role": role},
        )
    return member


def member_update(*, member, role, actor):
    """Change a staff member's role (an owner manages webhooks: the change is recorded)."""
    if role not in MerchantMember.Role.values:
        raise InvalidInput(
            _("角色无效。"), code="member_role_invalid", fields={"role": MerchantMember.Role.values}
        )
    with transaction.atomic():
        member = (
            MerchantMember.objects.select_for_update()
            .select_related("merchant", "user")
            .get(pk=member.pk)
        )
        before = member.role
        if before != role:
            member.role = role
            member.save(update_fields=["role"])
            timeline_record(
                subject=member.merchant,
                verb="member.role_changed",
                actor=actor,
                data={"username": member.user.username, "from": before, "to": role},
            )
    return member


def member_remove(*, member, actor):
    """Take a user's seat at a merchant away (the user account stays)."""
    with transaction.atomic():
        member = (
            MerchantMember.objects.select_for_update()
            .select_related("merchant", "user")
            .get(pk=member.pk)
        )
        timeline_record(
            subject=member.merchant,
            verb="member.removed",
            actor=actor,
            data={"username": member.user.username, "role": member.role},
        )
        member.delete()


def consumer_create(
    *,
    username,
    name="",
    phone="",
    credit_score=600,
    external_id=None,
    password=None,
    addresses=(),
    actor,
):
    """Create a consumer account with encrypted name, phone and addresses (RULES.md D1)."""
    if not 0 <= int(credit_score) <= 1000:
        raise InvalidInput(
            _("信用分应在 0–1000 之间。"),
            code="credit_score_out_of_range",
            fields={"credit_score": "0..1000"},
        )
    with transaction.atomic():
        if User.objects.filter(username=username).exists():
            raise Conflict(
                _("用户名 %(username)s 已存在。") % {"username": username},
                code="username_taken",
                fields={"username": username},
            )
        if external_id and ConsumerProfile.objects.filter(external_id=external_id).exists():
            raise Conflict(
                _("外部编号已存在。"), code="external_id_taken", fields={"external_id": external_id}
            )
        user = User(username=username)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        profile = ConsumerProfile(
            user=user, name=name, credit_score=credit_score, external_id=external_id or None
        )
        profile.set_phone(phone)
        profile.save()
        for i, address in enumerate(addresses):
            ConsumerAddress.objects.create(consumer=profile, is_default=(i == 0), **address)
        timeline_record(subject=profile, verb="consumer.created", actor=actor)
    return profile


def consumer_update(*, consumer, actor, name=None, phone=None, credit_score=None):
    with transaction.atomic():
        consumer = ConsumerProfile.objects.select_for_update().get(pk=consumer.pk)
        changed = []
        if name is not None:
            consumer.name = name
            changed.append("name")
        if phone is not None:
            consumer.set_phone(phone)
            changed.append("phone")
        if credit_score is not None:
            if not 0 <= int(credit_score) <= 1000:
                raise InvalidInput(_("信用分应在 0–1000 之间。"), code="credit_score_out_of_range")
            consumer.credit_score = credit_score
            changed.append("credit_score")
        consumer.save()
        timeline_record(
            subject=consumer, verb="consumer.updated", actor=actor, data={"fields": changed}
        )
    return consumer


def consumer_find_by_phone(phone):
    """Look a consumer up by phone through the blind index (no decryption)."""
    return ConsumerProfile.objects.filter(phone_index=blind_index(phone)).first()


def api_key_create(*, name, scope, merchant=None, actor):
    """Issue a key; returns ``(ApiKey, raw)``. The raw key is shown once and never stored."""
    if scope == ApiKey.Scope.MERCHANT and merchant is None:
        raise InvalidInput(
            _("商家范围的密钥必须指定商家。"),
            code="merchant_required",
            fields={"merchant": "required"},
        )
    if scope == ApiKey.Scope.PLATFORM and merchant is not None:
        raise InvalidInput(_("平台范围的密钥不能指定商家。"), code="merchant_not_allowed")
    prefix, raw = ApiKey.new_raw_key()
    with transaction.atomic():
        key = ApiKey.objects.create(
            name=name,
            prefix=prefix,
            hashed_key=ApiKey.hash(raw),
            scope=scope,
            merchant=merchant,
            created_by=actor.user if getattr(actor.user, "pk", None) else None,
        )
        timeline_record(subject=key, verb="api_key.created", actor=actor)
    return key, raw


def api_key_revoke(*, api_key, actor, reason=""):
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
        if key.revoked_at is not None:
            raise Conflict(_("密钥已吊销。"), code="api_key_already_revoked")
        key.revoked_at = clock.now()
        key.save(update_fields=["revoked_at"])
        timeline_record(subject=key, verb="api_key.revoked", actor=actor, reason=reason)
    return key
