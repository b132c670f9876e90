"""Evidence of a request: photos, videos and reports of the consumer, the merchant and platform
staff (R5, R19), checked (type, size) and saved with a timeline event.
"""

from django.core.files.base import File
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from aftersales import clock
from aftersales.casefile.files import original_name
from aftersales.casefile.uploads import check_upload, track_stored
from aftersales.errors import Conflict, InvalidInput

from ..models import ReturnEvidence
from ..uploads import EVIDENCE_ACCEPT, EVIDENCE_KIND, KIND_CLAIMS
from .common import (
    actor_party,
    actor_user,
    check_scope,
    locked_request,
    publish,
    record,
    require_consumer,
    require_merchant,
    require_platform,
)


def _evidence_items(evidence):
    items = []
    for raw in evidence or ():
        if isinstance(raw, dict):
            items.append(
                {"file": raw.get("file"), "kind": raw.get("kind"), "note": raw.get("note", "")}
            )
        else:
            items.append({"file": raw, "kind": None, "note": ""})
    return items


def evidence_clean(evidence, *, stage):
    """The uploaded ``evidence`` (files or ``{"file", "kind", "note"}`` dicts) as checked items
    ``{"file", "kind", "note"}`` (R5, R19): each file's content checked against what ``stage``
    takes (``returns.uploads.EVIDENCE_ACCEPT``: photos are re-encoded without metadata), its
    kind taken from what it is unless one was given (which it must then match). Refused files
    raise ``UploadRejected`` (``upload_unsupported_type``, ``upload_too_large``,
    ``upload_corrupt``)."""
    accept = EVIDENCE_ACCEPT[stage]
    items = _evidence_items(evidence)
    for item in items:
        if item["file"] is None or not getattr(item["file"], "name", ""):
            raise InvalidInput(
                _("凭证需要文件。"),
                code="evidence_file_required",
                fields={"evidence": "required"},
            )
        if item["kind"] is not None and item["kind"] not in KIND_CLAIMS:
            raise InvalidInput(
                _("凭证类型无效。"),
                code="evidence_kind_invalid",
                fields={"evidence": ReturnEvidence.Kind.values},
            )
    for item in items:
        claims = KIND_CLAIMS[item["kind"]] if item["kind"] else None
        checked = check_upload(item["file"], accept=accept, claims=claims, field_name="evidence")
        item["file"] = checked
        item["kind"] = item["kind"] or EVIDENCE_KIND[checked.upload_kind]
    return items


def evidence_save(request, items, *, actor, stage, party=None):
    """Save checked ``items`` (``evidence_clean``) as the evidence of the locked ``request`` at
    ``stage``, for ``party`` (default: the actor's side), with one timeline event."""
    party = party or actor_party(actor, request)
    rows = []
    for item in items:
        upload = item["file"]
        row = ReturnEvidence(
            request=request,
            merchant_id=request.merchant_id,
            party=party,
            kind=item["kind"],
            note=(item.get("note") or "")[:500],
            stage=stage,
            uploaded_by=actor_user(actor),
            uploaded_by_label=actor.label,
            created_at=clock.now(),
            original_name=original_name(upload),
        )
        content = upload if isinstance(upload, File) else File(upload)
        row.file.save(upload.name.rsplit("/", 1)[-1], content, save=False)
        track_stored(row.file)
        row.save()
        rows.append(row)
    if rows:
        record(
            request,
            "return.evidence_added",
            actor,
            data={"stage": stage, "party": party, "evidence_ids": [r.pk for r in rows]},
        )
    return rows


def evidence_add(*, request, actor, evidence, stage="", note=""):
    """Attach photos, videos or reports to a request, as the actor's side (R5, R19).

    ``evidence``: files (``UploadedFile``) or dicts ``{"file", "kind", "note"}``, checked by
    ``evidence_clean``. Open to the consumer,
    the merchant and platform staff while the request is not finished. Returns the rows.
    """
    items = evidence_clean(evidence, stage="add")
    if not items:
        raise InvalidInput(
            _("请上传凭证。"), code="evidence_required", fields={"evidence": "required"}
        )
    with transaction.atomic():
        request = locked_request(request)
        party = actor_party(actor, request)
        if party == ReturnEvidence.Party.CONSUMER:
            require_consumer(actor, request)
        elif party == ReturnEvidence.Party.MERCHANT:
            require_merchant(actor, request)
        else:
            require_platform(actor, request, mediator=True)
        if request.status in ("closed", "cancelled", "completed", "refunded"):
            raise Conflict(_("该售后申请已结束，不能再补充凭证。"), code="return_finished")
        if note:
            for item in items:
                item["note"] = item["note"] or note
        rows = evidence_save(request, items, actor=actor, stage=stage or request.status)
        publish("return.evidence_added", request, evidence_ids=[r.pk for r in rows], party=party)
        check_scope(request, actor)
    return rows
