"""Evidence of a request: photos, videos and reports of the consumer, the merchant and platform
staff (R5, R19), checked (type, size) and saved with a timeline event.
"""

from django.core.files.base import File
from django.db import transaction
from django.utils.translation import gettext as _

from aftersales import clock
from aftersales.casefile.files import original_name
from aftersales.errors import Conflict, InvalidInput

from ..models import (
    EVIDENCE_DEFAULT_MAX_BYTES,
    EVIDENCE_EXTENSIONS,
    EVIDENCE_MAX_BYTES,
    ReturnEvidence,
)
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


def _evidence_kind(name):
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    for kind in ("photo", "video", "report"):
        if ext in EVIDENCE_EXTENSIONS[kind]:
            return kind
    return "other"


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


def _evidence_check(items):
    """Type and size of each file (photo, video, inspection report)."""
    for i, item in enumerate(items):
        upload = item["file"]
        if upload is None or not getattr(upload, "name", ""):
            raise InvalidInput(
                _("凭证需要文件。"),
                code="evidence_file_required",
                fields={"evidence": {str(i): "required"}},
            )
        kind = item["kind"] or _evidence_kind(upload.name)
        if kind not in ReturnEvidence.Kind.values:
            raise InvalidInput(
                _("凭证类型无效。"),
                code="evidence_kind_invalid",
                fields={"evidence": {str(i): ReturnEvidence.Kind.values}},
            )
        ext = upload.name.rsplit(".", 1)[-1].lower() if "." in upload.name else ""
        if ext not in EVIDENCE_EXTENSIONS[kind]:
            raise InvalidInput(
                f"不支持的{kind}文件格式 .{ext}，请上传 {', '.join(EVIDENCE_EXTENSIONS[kind])}。",
                code="evidence_type_invalid",
                fields={"evidence": {str(i): list(EVIDENCE_EXTENSIONS[kind])}},
            )
        limit = EVIDENCE_MAX_BYTES.get(kind, EVIDENCE_DEFAULT_MAX_BYTES)
        if (getattr(upload, "size", 0) or 0) > limit:
            raise InvalidInput(
                f"文件过大，{kind} 最大 {limit // 1024**2} MB。",
                code="evidence_too_large",
                fields={"evidence": {str(i): limit}},
            )
        item["kind"] = kind
    return items


def evidence_clean(evidence):
    """The uploaded ``evidence`` (files or ``{"file", "kind", "note"}`` dicts) as checked items
    ``{"file", "kind", "note"}``: type and size of each file, the kind inferred from the extension
    when missing (R5, R19)."""
    return _evidence_check(_evidence_items(evidence))


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

    ``evidence``: files (``UploadedFile``) or dicts ``{"file", "kind", "note"}``; the kind is
    inferred from the extension when missing; type and size are checked. Open to the consumer,
    the merchant and platform staff while the request is not finished. Returns the rows.
    """
    items = evidence_clean(evidence)
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
