"""Outgoing webhooks (standard 6.4.1.1; ARCHITECTURE.md "API conventions").

Outbox: ``event_publish`` runs ``outbox_write`` (subscribed to every event in
``aftersales/messaging/subscriptions.py``) inside the transaction of the change; it writes one
``WebhookDelivery`` per matching active endpoint, so a rolled-back change leaves no delivery and a
committed one cannot lose its event. A merchant-scoped endpoint receives only events of its
merchant (``DomainEvent.merchant``); a platform endpoint receives all.

Delivery (at least once): after commit a task tries at once; the beat task
``aftersales.deliver_webhooks`` (every 30 s) retries what is due. Each try claims rows with
``FOR UPDATE SKIP LOCKED`` and leases them by moving ``next_attempt_at`` forward, so two workers
never send the same row at once and a worker that dies mid-send is retried after the lease.

Request: ``POST <url>`` with the JSON body ``{"id": "evt_<n>", "type", "occurred_at", "data":
{"subject": {"type", "id"}, "merchant_id", "payload"}}`` and the headers

    X-Aftersales-Event-Id:    evt_<n>          (the same on every attempt and replay: dedupe on it)
    X-Aftersales-Delivery-Id: <delivery id>
    X-Aftersales-Timestamp:   <unix seconds>
    X-Aftersales-Signature:   v1=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>

Any 2xx within ``WEBHOOK_TIMEOUT_SECONDS`` (5 s) is success; anything else (3xx included) fails.
Back-off after the n-th failure: 2^(n-1) minutes capped at 6 h (1, 2, 4 … 256 min, then every
6 h), until 72 h after the delivery was created; the first failure after that gives up
(status ``failed``; replay is still possible). Every attempt is logged (``WebhookAttempt``).

Disabling: an endpoint with no successful delivery for 72 h while failing (``failing_since``
at least 72 h old at a failure) is disabled, its pending deliveries are marked failed (they can
be replayed once it is re-enabled) and its owners are told: the merchant's owner users for a
merchant endpoint, the platform's after-sales managers for a platform endpoint (in-app, plus
email on the channels they chose).
"""

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import secrets
import socket
import ssl
import time
from datetime import timedelta
from typing import NamedTuple
from urllib.parse import urlparse

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from aftersales import clock, shared_cache
from aftersales.casefile.models import DomainEvent
from aftersales.casefile.timeline import timeline_record
from aftersales.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from aftersales.messaging.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from aftersales.messaging.notifications import enqueue, lease_due_rows, notify
from aftersales.tenancy.actors import SYSTEM
from aftersales.tenancy.models import MerchantMember, PlatformGroup, User
from aftersales.tenancy.scope import scoped

log = logging.getLogger(__name__)

TIMESTAMP_HEADER = "X-Aftersales-Timestamp"
SIGNATURE_HEADER = "X-Aftersales-Signature"
EVENT_ID_HEADER = "X-Aftersales-Event-Id"
DELIVERY_ID_HEADER = "X-Aftersales-Delivery-Id"
RETRY_WINDOW = timedelta(hours=72)
DISABLE_AFTER = timedelta(hours=72)
MAX_DELAY = timedelta(hours=6)


# -- rules -------------------------------------------------------------------------------------


def event_type_matches(patterns, name) -> bool:
    """``"*"`` matches every event, ``"refund.*"`` every event starting ``refund.``."""
    for pattern in patterns or ():
        if pattern == "*" or pattern == name:
            return True
        if pattern.endswith(".*") and name.startswith(pattern[:-1]):
            return True
    return False


def backoff_delay(failures: int) -> timedelta:
    """Wait after the ``failures``-th failed attempt: 2^(n-1) minutes, at most 6 hours."""
    if failures < 1:
        return timedelta(0)
    return min(timedelta(minutes=2 ** min(failures - 1, 20)), MAX_DELAY)


def retry_gives_up(*, created_at, now) -> bool:
    """A failing delivery keeps retrying until 72 h after it was created (issue 3)."""
    return now - created_at >= RETRY_WINDOW


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """``v1=`` + hex HMAC-SHA256 of ``f"{timestamp}.{body}"`` under the endpoint's secret."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def event_body(event: DomainEvent) -> bytes:
    return json.dumps(
        {
            "id": f"evt_{event.pk}",
            "type": event.name,
            "occurred_at": event.occurred_at.isoformat(),
            "data": {
                "subject": {"type": event.subject_type, "id": event.subject_id},
                "merchant_id": event.merchant_id,
                "payload": event.payload,
            },
        },
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
        default=str,
    ).encode()


# -- outbox ------------------------------------------------------------------------------------


class _Target(NamedTuple):
    """What the outbox reads of an active endpoint."""

    pk: int
    merchant_id: int | None
    event_types: list


def _read_endpoints(wanted):
    """``{shared key: [targets]}`` of the active endpoints of ``wanted`` (``{shared key:
    merchant id or None}``), in one query."""
    merchant_ids = [m for m in wanted.values() if m is not None]
    by_owner = {m: [] for m in wanted.values()}
    merchants = Q(merchant_id__in=merchant_ids)
    if None in by_owner:
        merchants |= Q(merchant__isnull=True)
    rows = WebhookEndpoint.objects.filter(merchants, is_active=True).order_by("pk")
    for pk, merchant_id, event_types in rows.values_list("pk", "merchant_id", "event_types"):
        by_owner[merchant_id].append(_Target(pk, merchant_id, event_types))
    return {k: by_owner[m] for k, m in wanted.items()}


def _endpoints_of(merchant_ids):
    """The active endpoints of the platform and of ``merchant_ids``: from the shared cache
    (``aftersales.shared_cache``; ``WebhookEndpoint.save`` and ``delete`` drop an owner's
    entry), reading the owners it does not hold in one query."""
    wanted = {WebhookEndpoint.cache_key(m): m for m in [None, *merchant_ids]}
    found = shared_cache.cached_many(
        list(wanted), lambda missing: _read_endpoints({k: wanted[k] for k in missing})
    )
    return [target for key in wanted for target in found[key]]


def outbox_write(event):
    """One delivery per matching active endpoint, in the publisher's transaction."""
    outbox_write_many([event])


def outbox_write_many(events):
    """Deliveries for events written together (one event, or a deadline-sweep batch): one per
    event and matching active endpoint; a merchant endpoint gets only its merchant's events."""
    merchant_ids = [m for m in {e.merchant_id for e in events} if m is not None]
    endpoints = _endpoints_of(merchant_ids)
    if not endpoints:
        return
    now = clock.now()
    rows = [
        WebhookDelivery(
            endpoint_id=e.pk,
            event=event,
            event_type=event.name,
            next_attempt_at=now,
            created_at=now,
        )
        for event in events
        for e in endpoints
        if (e.merchant_id is None or e.merchant_id == event.merchant_id)
        and event_type_matches(e.event_types, event.name)
    ]
    if rows:
        rows = WebhookDelivery.objects.bulk_create(rows)
        ids = [r.pk for r in rows]
        transaction.on_commit(lambda: [enqueue("deliver_webhook", pk) for pk in ids])


outbox_write.many = outbox_write_many


# -- endpoints ---------------------------------------------------------------------------------


def _require_write(actor):
    if actor.platform_write:
        return
    if actor.merchant_id is not None:
        if actor.api_key is not None or actor.merchant_role == MerchantMember.Role.OWNER:
            return
        raise PermissionDenied(
            _("只有店主可以管理 Webhook。"),
            code="merchant_owner_required",
        )
    if actor.platform_read:
        raise PermissionDenied(_("只读角色不能修改数据。"), code="read_only_role")
    raise NotFound()


def _clean_event_types(event_types):
    if (
        not isinstance(event_types, list | tuple)
        or not event_types
        or not all(isinstance(t, str) and t.strip() and len(t) <= 80 for t in event_types)
    ):
        raise InvalidInput(
            _('event_types 必须是非空的事件名列表，或 ["*"]。'),
            code="invalid",
            fields={"event_types": "list of event names or *"},
        )
    return sorted({t.strip() for t in event_types})


def _private_addresses_allowed():
    """Only the sandbox may call loopback or private-network receivers (tests, local demos)."""
    return getattr(settings, "WEBHOOK_ALLOW_PRIVATE", settings.SANDBOX)


def resolve(hostname, port):
    """Every address ``hostname`` resolves to (one DNS lookup), as ``ipaddress`` objects."""
    infos = socket.getaddrinfo(hostname, port, proto=socket.IPPROTO_TCP)
    return [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]


def not_unicast(address):
    """Why ``address`` can never receive a webhook (multicast, broadcast, unspecified,
    reserved), else ``""``: refused even in the sandbox."""
    address = getattr(address, "ipv4_mapped", None) or address
    if address.is_multicast:
        return "multicast"
    if address.is_unspecified:
        return "unspecified"
    if address.version == 4 and address == ipaddress.IPv4Address("255.255.255.255"):
        return "broadcast"
    if address.is_reserved and not address.is_loopback:
        return "reserved"
    return ""


def refused_address(address):
    """Why the platform will not POST to ``address``, else ``""``: never to a non-unicast
    address; outside the sandbox never into a private, loopback or link-local network (no
    server-side request forgery)."""
    kind = not_unicast(address)
    if kind:
        return f"{address} is a {kind} address"
    mapped = getattr(address, "ipv4_mapped", None) or address
    if not _private_addresses_allowed() and not mapped.is_global:
        return f"{address} is not a public address"
    return ""


def checked_addresses(hostname, port=None):
    """``(addresses, refusal)``: what ``hostname`` resolves to, and the first reason to refuse
    one of them (``""`` when all may be called). A name that does not resolve gives no
    addresses and no refusal (it fails at delivery)."""
    try:
        addresses = resolve(hostname, port)
    except (OSError, UnicodeError, ValueError):
        return [], ""
    for address in addresses:
        refusal = refused_address(address)
        if refusal:
            return addresses, refusal
    return addresses, ""


def _clean_url(url):
    parsed = urlparse(url or "")
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise InvalidInput(
            _("地址必须是 http(s) URL。"), code="invalid", fields={"url": "http(s) URL"}
        )
    if parsed.scheme != "https" and not getattr(settings, "WEBHOOK_ALLOW_HTTP", settings.SANDBOX):
        raise InvalidInput(
            _("生产环境只接受 https 地址。"),
            code="webhook_https_required",
            fields={"url": "https required"},
        )
    addresses, refusal = checked_addresses(parsed.hostname)
    if refusal and any(not_unicast(a) for a in addresses):
        raise InvalidInput(
            _("回调地址是组播、广播或保留地址，无法接收事件；请使用单播的公网地址。"),
            code="webhook_address_not_unicast",
            fields={"url": "unicast address required"},
        )
    if refusal:
        raise InvalidInput(
            _("回调地址指向内网或本机地址，平台不会向其发送事件；请使用公网地址。"),
            code="webhook_private_address",
            fields={"url": "public address required"},
        )
    return url


def webhook_endpoint_create(*, actor, url, event_types, description="", merchant=None):
    """Register an endpoint in the caller's scope; returns ``(endpoint, secret)`` — the
    secret is shown this once. Merchant actors always get their own merchant's scope."""
    _require_write(actor)
    if actor.merchant_id is not None:
        merchant_id = actor.merchant_id
    else:
        merchant_id = getattr(merchant, "pk", merchant)
    secret = "whsec_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            scope=WebhookEndpoint.Scope.MERCHANT if merchant_id else WebhookEndpoint.Scope.PLATFORM,
            merchant_id=merchant_id,
            url=_clean_url(url),
            description=description or "",
            event_types=_clean_event_types(event_types),
            secret=secret,
            created_by=actor.user if getattr(actor.user, "pk", None) else None,
            created_by_api_key=actor.api_key,
            created_at=clock.now(),
        )
        timeline_record(
            subject=endpoint,
            verb="webhook_endpoint.created",
            actor=actor,
            data={"url": endpoint.url, "event_types": endpoint.event_types},
        )
    return endpoint, secret


def webhook_endpoint_update(
    *, endpoint, actor, url=None, event_types=None, description=None, is_active=None
):
    """Change an endpoint; ``is_active=True`` re-enables a disabled one (counters reset)."""
    _require_write(actor)
    with transaction.atomic():
        row = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        changed = {}
        if url is not None:
            row.url = changed["url"] = _clean_url(url)
        if event_types is not None:
            row.event_types = changed["event_types"] = _clean_event_types(event_types)
        if description is not None:
            row.description = changed["description"] = description
        if is_active is not None and is_active != row.is_active:
            row.is_active = changed["is_active"] = is_active
            if is_active:
                row.disabled_at, row.disabled_reason = None, ""
                row.consecutive_failures, row.failing_since = 0, None
            else:
                row.disabled_at, row.disabled_reason = clock.now(), "disabled by owner"
        row.save()
        timeline_record(subject=row, verb="webhook_endpoint.updated", actor=actor, data=changed)
    return row


def webhook_endpoint_rotate_secret(*, endpoint, actor):
    """A new signing secret, returned once; the old one stops working at once."""
    _require_write(actor)
    secret = "whsec_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        row = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        row.secret = secret
        row.save(update_fields=["secret"])
        timeline_record(subject=row, verb="webhook_endpoint.secret_rotated", actor=actor)
    return row, secret


def webhook_endpoint_delete(*, endpoint, actor):
    """Delete an endpoint with its delivery log (the events themselves stay)."""
    _require_write(actor)
    with transaction.atomic():
        timeline_record(
            subject=endpoint,
            verb="webhook_endpoint.deleted",
            actor=actor,
            data={"url": endpoint.url},
        )
        endpoint.delete()


def _owners(endpoint):
    if endpoint.merchant_id:
        return list(
            User.objects.filter(
                merchant_member__merchant_id=endpoint.merchant_id,
                merchant_member__role=MerchantMember.Role.OWNER,
                is_active=True,
            )
        )
    return list(
        User.objects.filter(
            Q(groups__name=PlatformGroup.MANAGER) | Q(is_superuser=True), is_active=True
        ).distinct()
    )


def webhook_endpoint_disable(*, endpoint, reason, actor=SYSTEM):
    """Disable a failing endpoint once, fail its pending deliveries and tell its owners."""
    with transaction.atomic():
        row = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        if not row.is_active:
            return row
        now = clock.now()
        row.is_active, row.disabled_at, row.disabled_reason = False, now, reason[:200]
        row.save(update_fields=["is_active", "disabled_at", "disabled_reason"])
        WebhookDelivery.objects.filter(endpoint=row, status=WebhookDelivery.Status.PENDING).update(
            status=WebhookDelivery.Status.FAILED,
            next_attempt_at=None,
            last_error="endpoint disabled",
        )
        timeline_record(subject=row, verb="webhook_endpoint.disabled", actor=actor, reason=reason)
        for user in _owners(row):
            notify(
                recipient_user=user,
                event="webhook.endpoint_disabled",
                subject=row,
                actor=actor,
                context={
                    "url": row.url,
                    # In the recipient's language when the reason is the platform's own.
                    "reason": gettext_lazy(reason),
                    "endpoint_id": row.pk,
                    "failing_since": clock.local(row.failing_since or now),
                },
            )
    return row


# -- delivery ----------------------------------------------------------------------------------


class PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to the address that was checked (``address``), not to whatever the
    name resolves to at connect time; the Host header still names the host."""

    def __init__(self, host, *, address, **kwargs):
        super().__init__(host, **kwargs)
        self.pinned_address = str(address)

    def connect(self):
        self.sock = socket.create_connection((self.pinned_address, self.port), self.timeout)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to the checked ``address``: SNI and the certificate check use the host's name."""

    def __init__(self, host, *, address, **kwargs):
        self.tls = ssl.create_default_context()
        super().__init__(host, context=self.tls, **kwargs)
        self.pinned_address = str(address)

    def connect(self):
        sock = socket.create_connection((self.pinned_address, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


def _post(url, body, headers, timeout):
    """``(status_code, excerpt, error)`` of one POST, to an address checked in this very call.

    The host is resolved once; every address is checked (``refused_address``: checked again at
    delivery, the name may have been re-pointed since registration) and the connection goes to
    the first one, so a second lookup cannot lead elsewhere (DNS rebinding). Redirects are not
    followed (a 3xx fails)."""
    parsed = urlparse(url)
    https = parsed.scheme == "https"
    try:
        port = parsed.port or (443 if https else 80)
    except ValueError:
        return None, "", "refused: invalid port"
    addresses, refusal = checked_addresses(parsed.hostname or "", port)
    if refusal:
        return None, "", f"refused: {refusal}"
    if not addresses:
        return None, "", f"gaierror: {parsed.hostname} does not resolve"
    connection_class = PinnedHTTPSConnection if https else PinnedHTTPConnection
    connection = connection_class(parsed.hostname, address=addresses[0], port=port, timeout=timeout)
    path = parsed.path or "/"
    if parsed.query:
        path = f"{path}?{parsed.query}"
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        excerpt = response.read(500).decode("utf-8", "replace")
        code = response.status
    except Exception as exc:  # connection refused, timeout, TLS …
        return None, "", f"{type(exc).__name__}: {exc}"[:2000]
    finally:
        connection.close()
    return code, excerpt, "" if 200 <= code < 300 else f"HTTP {code}"


def _claim(qs, limit):
    """Due deliveries of active endpoints, leased to this worker."""
    return lease_due_rows(qs, limit=limit, endpoint__is_active=True)


def _attempt(delivery_id):
    delivery = WebhookDelivery.objects.select_related("endpoint", "event").get(pk=delivery_id)
    endpoint = delivery.endpoint
    body = event_body(delivery.event)
    # The signature timestamp is transport time (receivers compare it with their real clocks),
    # not business time, so it does not follow the sandbox clock.
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "aftersales-webhooks/1",
        EVENT_ID_HEADER: f"evt_{delivery.event_id}",
        DELIVERY_ID_HEADER: str(delivery.pk),
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: webhook_signature(endpoint.secret, timestamp, body),
    }
    started = time.monotonic()
    code, excerpt, error = _post(
        endpoint.url, body, headers, getattr(settings, "WEBHOOK_TIMEOUT_SECONDS", 5)
    )
    duration_ms = int((time.monotonic() - started) * 1000)
    ok = code is not None and 200 <= code < 300
    return _record(
        delivery,
        ok=ok,
        code=code,
        excerpt=excerpt,
        error="" if ok else error,
        duration_ms=duration_ms,
    )


def _record(delivery, *, ok, code, excerpt, error, duration_ms):
    now = clock.now()
    disable = False
    with transaction.atomic():
        row = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        row.attempts += 1
        WebhookAttempt.objects.create(
            delivery=row,
            number=row.attempts,
            status_code=code,
            error=error,
            response_excerpt=excerpt[:500],
            duration_ms=duration_ms,
            at=now,
        )
        row.last_status_code, row.last_error = code, error
        if ok:
            row.status, row.delivered_at, row.next_attempt_at = (
                WebhookDelivery.Status.DELIVERED,
                now,
                None,
            )
            WebhookEndpoint.objects.filter(pk=row.endpoint_id).update(
                consecutive_failures=0, failing_since=None, last_success_at=now
            )
        else:
            if retry_gives_up(created_at=row.created_at, now=now):
                row.status, row.next_attempt_at = WebhookDelivery.Status.FAILED, None
            else:
                row.next_attempt_at = now + backoff_delay(row.attempts)
            WebhookEndpoint.objects.filter(pk=row.endpoint_id).update(
                consecutive_failures=F("consecutive_failures") + 1,
                failing_since=Coalesce(F("failing_since"), now),
            )
            since = (
                WebhookEndpoint.objects.filter(pk=row.endpoint_id)
                .values_list("failing_since", flat=True)
                .first()
            )
            disable = since is not None and now - since >= DISABLE_AFTER
        row.save(
            update_fields=[
                "attempts",
                "last_status_code",
                "last_error",
                "status",
                "delivered_at",
                "next_attempt_at",
            ]
        )
    if disable:
        webhook_endpoint_disable(
            endpoint=delivery.endpoint,
            reason=gettext_noop("连续 72 小时投递失败，已自动停用。"),
        )
    return row


def webhook_delivery_attempt(*, delivery_id):
    """Try one delivery now if it is due and not being sent by another worker."""
    rows = _claim(WebhookDelivery.objects.filter(pk=delivery_id), 1)
    return [_attempt(r.pk) for r in rows]


def webhook_sweep(*, batch=10, budget_seconds=20.0):
    """Deliver due pending rows in small claimed batches until none is due or time is up."""
    started, done = time.monotonic(), 0
    while time.monotonic() - started < budget_seconds:
        rows = _claim(WebhookDelivery.objects.all(), batch)
        if not rows:
            break
        for row in rows:
            _attempt(row.pk)
            done += 1
    return done


def webhook_delivery_replay(*, delivery, actor):
    """Send a delivery's event again as a new delivery (any status)."""
    _require_write(actor)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
        if not endpoint.is_active:
            raise Conflict(
                _("端点已停用，请先启用。"),
                code="webhook_endpoint_disabled",
            )
        now = clock.now()
        replay = WebhookDelivery.objects.create(
            endpoint=endpoint,
            event_id=delivery.event_id,
            event_type=delivery.event_type,
            next_attempt_at=now,
            created_at=now,
            replay_of=delivery,
        )
        timeline_record(
            subject=endpoint,
            verb="webhook_delivery.replayed",
            actor=actor,
            data={"delivery_id": delivery.pk, "replay_id": replay.pk},
        )
        transaction.on_commit(lambda: enqueue("deliver_webhook", replay.pk))
    return replay


# -- reads -------------------------------------------------------------------------------------


def webhook_endpoint_list(*, actor):
    """Endpoints in the caller's scope: a merchant (staff or key) sees only its own."""
    return scoped(
        WebhookEndpoint.objects.all(), actor, merchant_field="merchant_id", consumer_field=None
    )


def webhook_delivery_list(*, actor):
    qs = WebhookDelivery.objects.select_related("endpoint").prefetch_related("attempt_log")
    return scoped(qs, actor, merchant_field="endpoint__merchant_id", consumer_field=None)
