"""Inbound callbacks from the payment, carrier and inspection adapters (issue 3).

``POST /api/v1/callbacks/<provider>/`` with the raw JSON body ``{"id", "type", "data"}`` and

    X-Callback-Timestamp: <unix seconds>
    X-Callback-Signature: v1=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>

Each provider has its own secret: ``settings.CALLBACK_SECRETS`` (``{"payment": "...", ...}``),
else a development secret generated in ``var/callback_secrets.json``. A bad or missing
signature answers 401 ``invalid_signature``; a timestamp more than 5 minutes from real time
answers 400 ``stale_timestamp``. A repeated event id answers 200 and does nothing.

Verified callbacks are handed to the handlers that apps register::

    from aftersales.messaging.callbacks import callback_register
    callback_register("payment", handle_payment_callback)   # fn(callback: InboundCallback)

Handlers run in the transaction that stores the ``InboundCallback`` row: if one raises, the row
is not stored and the provider's retry runs it again.
"""

import hashlib
import hmac
import json
import os
import secrets
import time
from collections import defaultdict
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from aftersales.errors import DomainError, InvalidInput, NotFound
from aftersales.messaging.models import InboundCallback

PROVIDERS = ("payment", "carrier", "inspection")
TIMESTAMP_HEADER = "X-Callback-Timestamp"
SIGNATURE_HEADER = "X-Callback-Signature"
MAX_AGE_SECONDS = 300

_handlers = defaultdict(list)


class InvalidSignature(DomainError):
    status = 401
    default_code = "invalid_signature"


def callback_register(provider, fn):
    """Register ``fn(callback)`` for verified callbacks of ``provider``."""
    if fn not in _handlers[provider]:
        _handlers[provider].append(fn)
    return fn


def providers():
    return tuple(getattr(settings, "CALLBACK_PROVIDERS", PROVIDERS))


def callback_secret(provider) -> str:
    configured = getattr(settings, "CALLBACK_SECRETS", None) or {}
    if provider in configured:
        return configured[provider]
    path = Path(
        getattr(settings, "CALLBACK_SECRETS_FILE", settings.VAR_DIR / "callback_secrets.json")
    )
    data = json.loads(path.read_text()) if path.exists() else {}
    if provider not in data:
        data[provider] = secrets.token_urlsafe(32)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)
    return data[provider]


def callback_signature(secret: str, timestamp: str, body: bytes) -> str:
    """``v1=`` + hex HMAC-SHA256 over ``f"{timestamp}.{body}"``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def callback_verify(*, provider, timestamp, signature, body):
    if provider not in providers():
        raise NotFound()
    if not timestamp or not signature:
        raise InvalidSignature(_("缺少签名。"))
    expected = callback_signature(callback_secret(provider), timestamp, body)
    if not hmac.compare_digest(expected, signature.strip()):
        raise InvalidSignature(_("签名无效。"))
    try:
        ts = int(timestamp)
    except ValueError:
        raise InvalidInput(_("时间戳无效。"), code="stale_timestamp") from None
    # Transport freshness is checked against real time: providers sign with their real clocks,
    # not the platform's sandbox business clock.
    if abs(time.time() - ts) > getattr(settings, "CALLBACK_MAX_AGE_SECONDS", MAX_AGE_SECONDS):
        raise InvalidInput(_("回调时间戳已过期（超过 5 分钟）。"), code="stale_timestamp")


def callback_receive(*, provider, timestamp, signature, body: bytes):
    """Verify, deduplicate by event id and dispatch one callback.

    Returns ``(callback, created)``; ``created`` is False for a repeated event id."""
    callback_verify(provider=provider, timestamp=timestamp, signature=signature, body=body)
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise InvalidInput(_("回调体不是合法的 JSON。"), code="malformed_request") from None
    event_id = str(data.get("id") or "").strip() if isinstance(data, dict) else ""
    if not event_id or len(event_id) > 120:
        raise InvalidInput(_("缺少事件编号 id。"), code="invalid", fields={"id": "required"})
    existing = InboundCallback.objects.filter(provider=provider, event_id=event_id).first()
    if existing is not None:
        return existing, False
    handlers = list(_handlers[provider])
    try:
        with transaction.atomic():
            callback = InboundCallback.objects.create(
                provider=provider,
                event_id=event_id,
                event_type=str(data.get("type") or "")[:80],
                payload=data,
                status=InboundCallback.Status.PROCESSED
                if handlers
                else InboundCallback.Status.UNHANDLED,
            )
            for handler in handlers:
                handler(callback)
    except IntegrityError:
        # A concurrent delivery of the same event id stored it first.
        return InboundCallback.objects.get(provider=provider, event_id=event_id), False
    return callback, True
