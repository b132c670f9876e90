"""Writes of the kernel: merchants, members, consumers, API keys, personal-data reveals."""

from django.db import transaction

from . import clock
from .errors import Conflict, InvalidInput, NotFound, PermissionDenied
from .models import (
    ApiKey,
    ConsumerAddress,
    ConsumerProfile,
    Merchant,
    MerchantMember,
    PiiAccessLog,
    User,
)
from .pii import blind_index
from .timeline import timeline_record


def merchant_create(*, code, name, contact_email="", is_active=True, actor):
    """Create a merchant (platform staff or a platform-scoped integrator)."""
    with transaction.atomic():
        if Merchant.objects.filter(code=code).exists():
            raise Conflict(
                f"商家编码 {code} 已存在。", code="merchant_code_taken", fields={"code": code}
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
            raise Conflict("该用户已属于某个商家。", code="member_exists")
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
            "角色无效。", code="member_role_invalid", fields={"role": MerchantMember.Role.values}
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
            "信用分应在 0–1000 之间。",
            code="credit_score_out_of_range",
            fields={"credit_score": "0..1000"},
        )
    with transaction.atomic():
        if User.objects.filter(username=username).exists():
            raise Conflict(
                f"用户名 {username} 已存在。", code="username_taken", fields={"username": username}
            )
        if external_id and ConsumerProfile.objects.filter(external_id=external_id).exists():
            raise Conflict(
                "外部编号已存在。", code="external_id_taken", fields={"external_id": external_id}
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
                raise InvalidInput("信用分应在 0–1000 之间。", code="credit_score_out_of_range")
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
            "商家范围的密钥必须指定商家。",
            code="merchant_required",
            fields={"merchant": "required"},
        )
    if scope == ApiKey.Scope.PLATFORM and merchant is not None:
        raise InvalidInput("平台范围的密钥不能指定商家。", code="merchant_not_allowed")
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
            raise Conflict("密钥已吊销。", code="api_key_already_revoked")
        key.revoked_at = clock.now()
        key.save(update_fields=["revoked_at"])
        timeline_record(subject=key, verb="api_key.revoked", actor=actor, reason=reason)
    return key


SELF_REVEAL_REASON = "本人查看"


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
    from .pii import EncryptedTextField

    names = [f.name for f in model._meta.local_fields if isinstance(f, EncryptedTextField)]
    return names + list(_REVEAL_EXTRA.get(model._meta.label_lower, {}))


def pii_reveal(*, actor, subject, fields, reason=""):
    """Return unmasked values of ``fields`` on ``subject`` and log who saw them (RULES.md D3).

    Only platform staff who may read every tenant (agents, managers, auditors, superusers) see
    another person's unmasked values, with a reason; a consumer may see their own; an app may
    grant more for its own model (``pii_reveal_register``), with a reason too. Merchants and
    everyone else get ``NotFound`` (they must not learn the record exists); platform-scoped API
    keys get ``PermissionDenied``: a machine has no reason to read a person's full details.
    """
    from .models import ActorKind

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
                "API 密钥不能查看完整个人信息。API keys cannot reveal personal data.",
                code="pii_reveal_forbidden",
            )
        if not (actor.kind == ActorKind.PLATFORM and actor.platform_read):
            raise NotFound()
    reason = (reason or "").strip() or (SELF_REVEAL_REASON if own else "")
    if not reason:
        raise InvalidInput(
            "查看完整个人信息必须说明原因。A reason is required.",
            code="reveal_reason_required",
            fields={"reason": "required"},
        )
    fields = list(dict.fromkeys(fields or []))
    allowed = pii_revealable_fields(type(subject))
    unknown = [f for f in fields if f not in allowed]
    if not fields or unknown:
        raise InvalidInput(
            "请选择要查看的字段。Choose fields to reveal.",
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


def pii_reencrypt(*, ring=None, batch_size=500, dry_run=False, actor=None):
    """Re-seal every encrypted value of every model under ``ring``'s active key (RULES.md D1).

    Rows are walked in primary-key order in batches, each batch locked and rewritten in its own
    transaction, so the run can be interrupted and started again: values already under the
    active key are neither decrypted nor written. Legacy plaintext values are sealed too.
    Returns ``{"app.model.field": {"resealed": n, "current": n, "plaintext": n}}``.
    """
    from django.db.models import F, Q, TextField
    from django.db.models.functions import Cast

    from . import pii

    ring = ring or pii.keyring()
    current_prefix = f"{pii.PREFIX}:{ring.active}:"
    by_model = {}
    for model, field in pii.encrypted_fields():
        by_model.setdefault(model, []).append(field)
    report = {}
    for model, fields in by_model.items():
        raw = {f"_raw_{f.attname}": Cast(F(f.attname), output_field=TextField()) for f in fields}
        stale = Q()
        for f in fields:
            name = f"_raw_{f.attname}"
            stale |= (
                Q(**{f"{name}__isnull": False})
                & ~Q(**{name: ""})
                & ~Q(**{f"{name}__startswith": current_prefix})
            )
        counts = {f.attname: {"resealed": 0, "current": 0, "plaintext": 0} for f in fields}
        base = model._default_manager.annotate(**raw)
        for f in fields:
            name = f"_raw_{f.attname}"
            counts[f.attname]["current"] = base.filter(
                **{f"{name}__startswith": current_prefix}
            ).count()
        last_pk = None
        while True:
            with transaction.atomic():
                qs = base.filter(stale).order_by("pk")
                if last_pk is not None:
                    qs = qs.filter(pk__gt=last_pk)
                pks = list(qs.values_list("pk", flat=True)[:batch_size])
                if not pks:
                    break
                last_pk = pks[-1]
                rows = (
                    model._default_manager.filter(pk__in=pks)
                    .select_for_update(of=("self",))
                    .annotate(**raw)
                    .order_by("pk")
                    .values("pk", *raw)
                )
                changed = []
                for row in rows:
                    obj = model(pk=row["pk"])
                    touched = False
                    for f in fields:
                        value = row[f"_raw_{f.attname}"]
                        if not value or value.startswith(current_prefix):
                            continue
                        if pii.is_token(value):
                            plain = pii.decrypt(value, ring)
                            counts[f.attname]["resealed"] += 1
                        else:
                            plain = value
                            counts[f.attname]["plaintext"] += 1
                        setattr(obj, f.attname, pii.Sealed(pii.encrypt(plain, ring)))
                        touched = True
                    if touched:
                        changed.append(obj)
                if changed and not dry_run:
                    for f in fields:
                        objs = [
                            o
                            for o in changed
                            if f.attname in o.__dict__
                            and isinstance(o.__dict__[f.attname], pii.Sealed)
                        ]
                        if objs:
                            model._default_manager.bulk_update(objs, [f.attname])
                if dry_run:
                    transaction.set_rollback(True)
        for f in fields:
            report[f"{model._meta.label_lower}.{f.attname}"] = counts[f.attname]
    return report


def pii_stale_count(*, ring=None):
    """How many encrypted values are not under ``ring``'s active key (0 after a full rotation)."""
    from django.db.models import F, Q, TextField
    from django.db.models.functions import Cast

    from . import pii

    ring = ring or pii.keyring()
    prefix = f"{pii.PREFIX}:{ring.active}:"
    total = 0
    for model, field in pii.encrypted_fields():
        total += (
            model._default_manager.annotate(_raw=Cast(F(field.attname), output_field=TextField()))
            .filter(Q(_raw__isnull=False) & ~Q(_raw="") & ~Q(_raw__startswith=prefix))
            .count()
        )
    return total
