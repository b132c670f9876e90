"""Writes of the kernel: merchants, members, consumers, API keys, personal-data reveals."""

from django.db import transaction

from . import clock
from .errors import Conflict, InvalidInput, NotFound
from .models import (
    ApiKey, ConsumerAddress, ConsumerProfile, Merchant, MerchantMember, PiiAccessLog, User,
)
from .pii import blind_index
from .timeline import timeline_record


def merchant_create(*, code, name, contact_email="", actor):
    """Create a merchant (platform staff or a platform-scoped integrator)."""
    with transaction.atomic():
        if Merchant.objects.filter(code=code).exists():
            raise Conflict(f"商家编码 {code} 已存在。", code="merchant_code_taken", fields={"code": code})
        merchant = Merchant.objects.create(code=code, name=name, contact_email=contact_email)
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
        timeline_record(subject=merchant, verb="merchant.updated", actor=actor,
                        data={k: v for k, v in changes.items() if k in allowed})
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
            raise Conflict("该用户已属于某个商家。", code="member_exists")
        member = MerchantMember.objects.create(merchant=merchant, user=user, role=role)
        timeline_record(subject=merchant, verb="member.added", actor=actor,
                        data={"username": username, "role": role})
    return member


def consumer_create(*, username, name="", phone="", credit_score=600, external_id=None,
                    password=None, addresses=(), actor):
    """Create a consumer account with encrypted name, phone and addresses (RULES.md D1)."""
    if not 0 <= int(credit_score) <= 1000:
        raise InvalidInput("信用分应在 0–1000 之间。", code="credit_score_out_of_range",
                           fields={"credit_score": "0..1000"})
    with transaction.atomic():
        if User.objects.filter(username=username).exists():
            raise Conflict(f"用户名 {username} 已存在。", code="username_taken", fields={"username": username})
        if external_id and ConsumerProfile.objects.filter(external_id=external_id).exists():
            raise Conflict("外部编号已存在。", code="external_id_taken", fields={"external_id": external_id})
        user = User(username=username)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        profile = ConsumerProfile(user=user, name=name, credit_score=credit_score,
                                  external_id=external_id or None)
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
                raise InvalidInput("信用分应在 0–1000 之间。", code="credit_score_out_of_range")
            consumer.credit_score = credit_score
            changed.append("credit_score")
        consumer.save()
        timeline_record(subject=consumer, verb="consumer.updated", actor=actor, data={"fields": changed})
    return consumer


def consumer_find_by_phone(phone):
    """Look a consumer up by phone through the blind index (no decryption)."""
    return ConsumerProfile.objects.filter(phone_index=blind_index(phone)).first()


def api_key_create(*, name, scope, merchant=None, actor):
    """Issue a key; returns ``(ApiKey, raw)``. The raw key is shown once and never stored."""
    if scope == ApiKey.Scope.MERCHANT and merchant is None:
        raise InvalidInput("商家范围的密钥必须指定商家。", code="merchant_required", fields={"merchant": "required"})
    if scope == ApiKey.Scope.PLATFORM and merchant is not None:
        raise InvalidInput("平台范围的密钥不能指定商家。", code="merchant_not_allowed")
    prefix, raw = ApiKey.new_raw_key()
    with transaction.atomic():
        key = ApiKey.objects.create(
            name=name, prefix=prefix, hashed_key=ApiKey.hash(raw), scope=scope, merchant=merchant,
            created_by=actor.user if getattr(actor.user, "pk", None) else None,
        )
        timeline_record(subject=key, verb="api_key.created", actor=actor)
    return key, raw


def api_key_revoke(*, api_key, actor, reason=""):
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
        if key.revoked_at is not None:
            raise Conflict("密钥已吊销。", code="api_key_already_revoked")
        key.revoked_at = clock.now()
        key.save(update_fields=["revoked_at"])
        timeline_record(subject=key, verb="api_key.revoked", actor=actor, reason=reason)
    return key


def pii_reveal(*, actor, subject, fields, reason):
    """Return unmasked values of ``fields`` on ``subject`` and log who saw them (RULES.md D3).

    Only platform staff, and the consumer for their own data, may see unmasked values.
    """
    if not reason or not reason.strip():
        raise InvalidInput("查看完整个人信息必须说明原因。", code="reveal_reason_required",
                           fields={"reason": "required"})
    own = actor.is_consumer and getattr(subject, "pk", None) == actor.consumer_id
    if not (actor.platform_read or own):
        raise NotFound()
    values = {f: getattr(subject, f) for f in fields}
    PiiAccessLog.objects.create(
        subject_type=subject._meta.label_lower, subject_id=subject.pk, fields=list(fields),
        reason=reason.strip(), **actor.timeline_fields(),
    )
    return values
