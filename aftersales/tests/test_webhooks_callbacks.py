"""Inbound provider callbacks: HMAC signature, staleness, dedup by event id, dispatch."""

import hashlib
import hmac
import json
import time

import pytest
from rest_framework.test import APIClient

from aftersales.messaging import callbacks
from aftersales.messaging.models import InboundCallback


@pytest.fixture
def received(monkeypatch):
    seen = []
    monkeypatch.setitem(callbacks._handlers, "payment", [lambda cb: seen.append(cb.event_id)])
    return seen


def post(provider, payload, *, secret=None, ts=None, signature=None):
    body = json.dumps(payload).encode()
    ts = str(int(time.time()) if ts is None else ts)
    secret = secret or callbacks.callback_secret(provider)
    mac = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return APIClient().post(
        f"/api/v1/callbacks/{provider}/",
        data=body,
        content_type="application/json",
        headers={"X-Callback-Timestamp": ts, "X-Callback-Signature": signature or f"v1={mac}"},
    )


def test_signed_callback_is_dispatched_once(db, received):
    payload = {"id": "pay_evt_1", "type": "payment.succeeded", "data": {"order": "A1"}}
    r = post("payment", payload)
    assert r.status_code == 200 and r.json() == {"status": "accepted", "id": "pay_evt_1"}
    r = post("payment", payload)
    assert r.status_code == 200 and r.json()["status"] == "duplicate"
    assert received == ["pay_evt_1"]
    row = InboundCallback.objects.get()
    assert row.provider == "payment" and row.event_type == "payment.succeeded"


def test_bad_signature_is_401(db, received):
    r = post("payment", {"id": "x1"}, secret="not-the-secret")
    assert r.status_code == 401 and r.json()["code"] == "invalid_signature"
    r = post("payment", {"id": "x1"}, signature="v1=deadbeef")
    assert r.status_code == 401
    assert received == [] and not InboundCallback.objects.exists()


def test_stale_timestamp_is_400(db, received):
    r = post("payment", {"id": "x2"}, ts=int(time.time()) - 301)
    assert r.status_code == 400 and r.json()["code"] == "stale_timestamp"
    assert received == []


def test_unknown_provider_is_404(db):
    r = post("nobody", {"id": "x3"}, secret="s")
    assert r.status_code == 404


def test_provider_without_handler_is_stored_as_unhandled(db):
    assert post("carrier", {"id": "c1", "type": "tracking.updated"}).status_code == 200
    assert InboundCallback.objects.get().status == "unhandled"


def test_handler_failure_stores_nothing_so_the_retry_runs_again(db, monkeypatch):
    calls = []

    def flaky(cb):
        calls.append(cb.event_id)
        if len(calls) == 1:
            raise RuntimeError("downstream failed")

    monkeypatch.setitem(callbacks._handlers, "inspection", [flaky])
    client_payload = {"id": "i1"}
    with pytest.raises(RuntimeError):
        post_direct("inspection", client_payload)
    assert not InboundCallback.objects.exists()
    assert post("inspection", client_payload).status_code == 200
    assert calls == ["i1", "i1"]


def post_direct(provider, payload):
    body = json.dumps(payload).encode()
    ts = str(int(time.time()))
    sig = callbacks.callback_signature(callbacks.callback_secret(provider), ts, body)
    return callbacks.callback_receive(provider=provider, timestamp=ts, signature=sig, body=body)
