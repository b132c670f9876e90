"""Checks every API request passes before a view or a parser reads it (issue 19).

- ``RequestIdMiddleware`` (first in ``MIDDLEWARE``): every request gets an id, the caller's
  ``X-Request-ID`` when it looks like one (a proxy's), else a fresh one; the response carries it
  back and the 500 body names it (``aftersales.api.errors.json_500``), so a caller can quote the
  request that failed and the log line that recorded it.
- ``ApiInputGuardMiddleware``: under ``/api/``, a body longer than Django's
  ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (other than a multipart upload, whose files the upload
  handlers stream to disk) answers 413 ``body_too_large`` before anything reads it, and a NUL
  character in the query string (a key or a value, of any filter) answers 400
  ``nul_character``: PostgreSQL stores no NUL in a text column.
"""

import re
import uuid
from urllib.parse import parse_qsl

from django.conf import settings
from django.http import JsonResponse
from django.utils.translation import gettext as _

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


def error_response(status, code, message, fields=None):
    return JsonResponse({"code": code, "message": message, "fields": fields or {}}, status=status)


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        offered = request.headers.get(REQUEST_ID_HEADER, "")
        request.request_id = offered if _REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request.request_id
        return response


def body_too_large():
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return error_response(
        413,
        "body_too_large",
        _("请求体超过 %(limit)s 字节的上限。") % {"limit": limit},
        {"limit_bytes": limit},
    )


class ApiInputGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            refused = self.refuse(request)
            if refused is not None:
                return refused
        return self.get_response(request)

    def refuse(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        multipart = request.content_type == "multipart/form-data"
        if limit is not None and length > limit and not multipart:
            return body_too_large()
        if "\x00" in request.path:
            return error_response(
                400,
                "nul_character",
                _("路径中不能含有空字符（NUL）。"),
            )
        query = request.META.get("QUERY_STRING", "")
        if "%00" in query or "\x00" in query:
            pairs = parse_qsl(query, keep_blank_values=True)
            names = sorted({name for name, value in pairs if "\x00" in name + value})
            if names:
                return error_response(
                    400,
                    "nul_character",
                    _("查询参数中不能含有空字符（NUL）。"),
                    {name.replace("\x00", "\\u0000"): ["nul_character"] for name in names},
                )
        return None
