"""``Idempotency-Key`` on every API POST, with Stripe's semantics.

The first response is stored in the same transaction as the side effect and replayed for a
repeat of the key; the same key with another body (or path) answers 400
``idempotency_key_reused``. A concurrent repeat waits on the key's row and then replays.
Failed requests (4xx/5xx that roll back) store nothing, so a retry runs again. Responses
marked ``Cache-Control: no-store`` (revealed personal data) are never stored either.
"""

import hashlib
import json

from django.db import IntegrityError, transaction
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from aftersales.api.models import IdempotencyRecord
from aftersales.tenancy.auth import parse_raw_key
from aftersales.tenancy.models import ApiKey

HEADER = "Idempotency-Key"


def _owner(request):
    raw = parse_raw_key(request.headers.get("Authorization"))
    if raw is not None:
        return "key:" + ApiKey.hash(raw)[:40]
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return None


def _error(status, code, message):
    return JsonResponse({"code": code, "message": message, "fields": {}}, status=status)


def _replay(record, digest):
    if record.request_hash != digest:
        return _error(
            400,
            "idempotency_key_reused",
            _("该 Idempotency-Key 已用于另一个请求；请为新请求使用新的键。"),
        )
    response = HttpResponse(
        bytes(record.response_body or b""),
        status=record.status_code,
        content_type=record.content_type or "application/json",
    )
    response["Idempotent-Replayed"] = "true"
    return response


class IdempotencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = request.headers.get(HEADER)
        if request.method != "POST" or not key or not request.path.startswith("/api/"):
            return self.get_response(request)
        if len(key) > 255:
            return _error(400, "idempotency_key_invalid", _("Idempotency-Key 最长 255 个字符。"))
        owner = _owner(request)
        if owner is None:
            return self.get_response(request)
        digest = request_digest(request)

        existing = IdempotencyRecord.objects.filter(owner=owner, key=key).first()
        if existing is not None and existing.status_code is not None:
            return _replay(existing, digest)
        # The key's row is inserted first, in the same transaction as the side effect: a
        # concurrent request with the same key waits on the unique index until this one commits
        # (then replays) or rolls back (then runs itself).
        with transaction.atomic():
            try:
                with transaction.atomic():
                    # A concurrent request with the same key blocks here until the first commits.
                    record = IdempotencyRecord.objects.create(
                        owner=owner,
                        key=key,
                        method=request.method,
                        path=request.path[:500],
                        request_hash=digest,
                    )
            except IntegrityError:
                record = None
            if record is None:
                existing = IdempotencyRecord.objects.get(owner=owner, key=key)
                return _replay(existing, digest)
            response = self.get_response(request)
            if transaction.get_rollback() or response.status_code >= 400:
                transaction.set_rollback(True)
                return response
            if getattr(response, "streaming", False):
                transaction.set_rollback(True)
                return _error(
                    500,
                    "idempotency_unsupported_response",
                    _("流式响应不支持 Idempotency-Key。"),
                )
            if "no-store" in response.get("Cache-Control", ""):
                # The body must not be kept (unmasked personal data, RULES.md D1): the side
                # effect stands, the key is released, and a retry runs again.
                record.delete()
                return response
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
            record.status_code = response.status_code
            record.response_body = response.content
            record.content_type = response.get("Content-Type", "")
            record.save(update_fields=["status_code", "response_body", "content_type"])
        return response


def request_digest(request):
    """SHA-256 over the path and the body. A multipart body (evidence uploads) is hashed from
    the parsed form, file by file in chunks, so large uploads are not read into memory twice
    and never hit ``DATA_UPLOAD_MAX_MEMORY_SIZE``; Django's parse is reused by the view."""
    h = hashlib.sha256(request.path.encode() + b"\n")
    if request.content_type == "multipart/form-data":
        for name in sorted(request.POST):
            for value in request.POST.getlist(name):
                h.update(f"f:{name}={value}\n".encode())
        for name in sorted(request.FILES):
            for upload in request.FILES.getlist(name):
                h.update(f"u:{name}:{upload.name}:{upload.size}\n".encode())
                for chunk in upload.chunks():
                    h.update(chunk)
                upload.seek(0)
    else:
        h.update(request.body)
    return h.hexdigest()


def canonical_json(data):
    return json.dumps(data, sort_keys=True, separators=(",", ":"))
