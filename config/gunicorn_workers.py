"""Gunicorn workers that answer the requests gunicorn itself refuses in the API's error body.

Gunicorn refuses some requests before Django sees them: a request line over
``limit_request_line`` (414), a header over ``limit_request_field_size`` or more than
``limit_request_fields`` headers (431), a malformed request line or header (400). Its own answer
is an HTML page; these workers answer ``{"code", "message", "fields"}`` instead (issue 19), with
a code that says what is wrong. Every other error is gunicorn's usual handling.
``config/gunicorn.py`` picks the sync or the threaded one (``GUNICORN_THREADS``).
"""

import json

from django.core.exceptions import AppRegistryNotReady
from django.utils.translation import gettext, gettext_noop
from gunicorn import util
from gunicorn.http.errors import (
    InvalidHeader,
    InvalidHeaderName,
    InvalidHTTPVersion,
    InvalidRequestLine,
    InvalidRequestMethod,
    LimitRequestHeaders,
    LimitRequestLine,
)
from gunicorn.workers.gthread import ThreadWorker
from gunicorn.workers.sync import SyncWorker

# exception class → (status, reason, code, message)
REFUSALS = (
    (
        LimitRequestHeaders,
        431,
        "Request Header Fields Too Large",
        "header_too_large",
        gettext_noop("请求头过大或过多。"),
    ),
    (
        LimitRequestLine,
        414,
        "URI Too Long",
        "uri_too_long",
        gettext_noop("请求地址过长。"),
    ),
    (
        (InvalidHeader, InvalidHeaderName),
        400,
        "Bad Request",
        "malformed_header",
        gettext_noop("请求头格式无效。"),
    ),
    (
        (InvalidRequestLine, InvalidRequestMethod, InvalidHTTPVersion),
        400,
        "Bad Request",
        "malformed_request_line",
        gettext_noop("请求行格式无效。"),
    ),
)


def _translated(message):
    """``message`` in the site's default language: a request gunicorn refuses is not parsed,
    so it has no language of its own (the source text if Django is not loaded)."""
    try:
        return gettext(message)
    except AppRegistryNotReady:
        return message


def refusal(exc):
    """``(status, reason, body bytes)`` for a request gunicorn refuses, else ``None``."""
    for kinds, status, reason, code, message in REFUSALS:
        if isinstance(exc, kinds):
            body = {"code": code, "message": _translated(message), "fields": {}}
            return status, reason, json.dumps(body, ensure_ascii=False).encode()
    return None


class JsonRefusalsMixin:
    def handle_error(self, req, client, addr, exc):
        answer = refusal(exc)
        if answer is None:
            return super().handle_error(req, client, addr, exc)
        status, reason, body = answer
        self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        head = (
            f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        try:
            util.write_nonblock(client, head.encode("latin-1") + body)
        except OSError:
            self.log.debug("Failed to send error message.")


class JsonRefusalsSyncWorker(JsonRefusalsMixin, SyncWorker):
    pass


class JsonRefusalsThreadWorker(JsonRefusalsMixin, ThreadWorker):
    pass
