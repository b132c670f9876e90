"""Key rotation (RULES.md D1): re-seal every encrypted value under the active key."""

from django.db import transaction
from django.db.models import F, Q, TextField
from django.db.models.functions import Cast

from aftersales import pii


def pii_reencrypt(*, ring=None, batch_size=500, dry_run=False, actor=None):
    """Re-seal every encrypted value of every model under ``ring``'s active key (RULES.md D1).

    Rows are walked in primary-key order in batches, each batch locked and rewritten in its own
    transaction, so the run can be interrupted and started again: values already under the
    active key are neither decrypted nor written. Legacy plaintext values are sealed too.
    Returns ``{"app.model.field": {"resealed": n, "current": n, "plaintext": n}}``.
    """
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
