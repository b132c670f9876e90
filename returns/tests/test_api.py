"""The returns API as each role uses it: options of a line, requests and their actions,
arbitration, evidence, idempotent replays, webhooks, tenant isolation and query counts."""

import base64
from datetime import datetime, timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from aftersales import clock
from aftersales.casefile.models import DomainEvent
from aftersales.clock import SHANGHAI
from aftersales.messaging.models import WebhookDelivery, WebhookEndpoint
from aftersales.tenancy.models import PlatformGroup
from aftersales.tests import factories as af
from aftersales.tests.uploads import jpeg_bytes, png_bytes
from orders.models import OrderLine
from orders.tests import factories as of
from returns import rules
from returns.citations import citation
from returns.models import Refund, ReturnEvidence, ReturnRequest
from returns.tests import factories as rf
from returns.tests.cases import case
from returns.tests.conftest import settle_refunds
from returns.uploads import EVIDENCE_ACCEPT

pytestmark = pytest.mark.django_db

RETURNS = "/api/v1/returns/"
ARBITRATIONS = "/api/v1/arbitrations/"
JPEG = jpeg_bytes()


@pytest.fixture
def consumer_a(roles):
    return roles["consumer_a"].consumer


@pytest.fixture
def consumer_b(roles):
    return roles["consumer_b"].consumer


def _line(merchant, consumer, *, days_ago=1, **kw):
    return rf.signed_line(
        signed_at=clock.now() - timedelta(days=days_ago), merchant=merchant, consumer=consumer, **kw
    )


def _post(client, url, body=None, **kw):
    return client.post(url, body or {}, format="json", **kw)


def _b64(content=JPEG):
    return base64.b64encode(content).decode()


def _error(response, status, code):
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    assert body["code"] == code, body
    return body


# -- what a line allows now -----------------------------------------------------------------------


def test_options_name_the_rule_and_the_deciding_date(api, merchant_a, consumer_a):
    signed = clock.now() - timedelta(days=2)
    line = _line(merchant_a, consumer_a, days_ago=2)
    r = api("consumer_a").get(f"/api/v1/order-lines/{line.pk}/return-options/")
    assert r.status_code == 200, r.content
    options = {o["kind"]: o for o in r.json()["options"]}
    no_reason = options[rules.NO_REASON_RETURN]
    closes = rules.no_reason_closes_at(signed)
    assert no_reason["available"] and no_reason["rule"] == "R1"
    assert no_reason["code"] == "no_reason_open"
    assert rules.display_instant(closes) in no_reason["message"]
    assert no_reason["decided_by_display"] == rules.display_instant(closes)
    assert "return_refund" in no_reason["request_kinds"] and no_reason["max_quantity"] == 1
    assert not options[rules.REFUND_ONLY_UNSHIPPED]["available"]
    assert options[rules.REFUND_ONLY_UNSHIPPED]["code"] == "already_shipped"
    assert r.json()["available"] is True
    shipping = r.json()["shipping"]
    assert (shipping["no_reason"]["payer"], shipping["no_reason"]["rule"]) == ("consumer", "R8")
    assert (shipping["quality"]["payer"], shipping["quality"]["rule"]) == ("merchant", "R9")
    assert r.json()["insured"] is False


SIGNED = datetime(2026, 11, 21, 0, 30, tzinfo=SHANGHAI)  # = 2026-11-20 16:30 UTC


@pytest.mark.parametrize(
    ("now", "open_"),
    [
        (datetime(2026, 11, 28, 23, 59, tzinfo=SHANGHAI), True),  # last minute of day 7
        (datetime(2026, 11, 29, 0, 0, tzinfo=SHANGHAI), False),  # first minute after
    ],
)
def test_window_boundary_in_shanghai_over_the_api(api, merchant_a, consumer_a, now, open_):
    """RULES.md "Time": signed 2026-11-21 00:30 Shanghai (a UTC date of 11-20) → open until
    2026-11-28 24:00 Shanghai; the explanation names that date and the API obeys it."""
    with time_machine.travel(SIGNED - timedelta(days=1), tick=False):
        line = rf.signed_line(signed_at=SIGNED, merchant=merchant_a, consumer=consumer_a)
    with time_machine.travel(now, tick=False):
        clock.invalidate()
        url = f"/api/v1/order-lines/{line.pk}/return-options/"
        options = {o["kind"]: o for o in api("consumer_a").get(url).json()["options"]}
        option = options[rules.NO_REASON_RETURN]
        assert option["available"] is open_
        assert option["decided_by_display"] == "2026-11-28 24:00"
        assert "2026-11-28 24:00" in option["message"]
        r = _post(
            api("consumer_a"),
            RETURNS,
            {"line": line.pk, "kind": "return_refund", "reason": "no_reason"},
        )
        if open_:
            assert r.status_code == 201, r.content
        else:
            assert _error(r, 400, "no_reason_window_closed")["fields"]["rule"] == "R1"


def test_options_of_a_category_excluded_by_law(api, merchant_a, consumer_a):
    fresh = of.CategoryFactory(
        code="fresh", no_reason_class="excluded_by_law", exclusion_reason="perishable"
    )
    line = _line(merchant_a, consumer_a, category=fresh)
    options = {
        o["kind"]: o
        for o in api("merchant_a")
        .get(f"/api/v1/order-lines/{line.pk}/return-options/")
        .json()["options"]
    }
    no_reason = options[rules.NO_REASON_RETURN]
    assert not no_reason["available"]
    assert (no_reason["rule"], no_reason["code"]) == ("R2", "no_reason_excluded_by_law")
    assert "鲜活易腐" in no_reason["message"]
    assert options[rules.QUALITY_RETURN]["available"]  # quality claims stay open (R2)
    expensive = _line(merchant_a, consumer_a, price="5000.00")
    r = api("consumer_a").get(f"/api/v1/order-lines/{expensive.pk}/return-options/")
    assert r.json()["insured"] is True  # R17: at the ¥5,000 threshold


def test_options_outside_the_scope_answer_404(api, merchant_a, consumer_a):
    line = _line(merchant_a, consumer_a)
    for role in ("consumer_b", "merchant_b", "mediator"):
        r = api(role).get(f"/api/v1/order-lines/{line.pk}/return-options/")
        _error(r, 404, "not_found")
    _error(api("consumer_a").get("/api/v1/order-lines/abc/return-options/"), 404, "not_found")


# -- the consumer asks and follows ----------------------------------------------------------------


def test_consumer_creates_and_follows_a_request(api, merchant_a, consumer_a):
    line = _line(merchant_a, consumer_a, price="300.00")
    r = _post(
        api("consumer_a"),
        RETURNS,
        {"line": line.pk, "kind": "return_refund", "reason": "no_reason", "description": "太大"},
    )
    assert r.status_code == 201, r.content
    data = r.json()
    assert data["status"] == "requested" and data["quantity"] == 1  # default: what is left
    assert data["amount"] == "300.00" and data["rule"] == "R1"
    assert data["shipping_payer"] == "consumer" and data["shipping_rule"] == "R8"
    assert [d["kind"] for d in data["deadlines"]] == ["returns.auto_approve"]
    assert data["next_deadline_kind"] == "returns.auto_approve"
    assert data["deadlines"][0]["due_at"] == data["next_deadline_at"]
    assert data["timeline"][0]["verb"] == "return.requested"
    assert data["refund"] is None and data["arbitration"] is None

    listed = api("merchant_a").get(RETURNS).json()["results"]
    assert [row["id"] for row in listed] == [data["id"]]
    assert listed[0]["consumer_name"] == "张*丰"  # masked (RULES.md D2)
    assert listed[0]["next_deadline_at"] == data["next_deadline_at"]
    # tenant isolation: the other merchant and the other consumer see nothing
    assert api("merchant_b").get(RETURNS).json()["results"] == []
    assert api("consumer_b").get(RETURNS).json()["results"] == []
    _error(api("merchant_b").get(f"{RETURNS}{data['id']}/"), 404, "not_found")
    _error(api("consumer_b").get(f"{RETURNS}{data['id']}/"), 404, "not_found")
    _error(_post(api("merchant_b"), f"{RETURNS}{data['id']}/approve/"), 404, "not_found")
    _error(_post(api("consumer_b"), f"{RETURNS}{data['id']}/cancel/"), 404, "not_found")
    assert ReturnRequest.objects.get().status == "requested"

    r = _post(api("consumer_a"), f"{RETURNS}{data['id']}/cancel/", {"reason": "不退了"})
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert r.json()["deadlines"] == []


def test_create_refusals_have_rule_codes(api, merchant_a, merchant_b, consumer_a):
    client = api("consumer_a")
    late = _line(merchant_a, consumer_a, days_ago=9)
    body = _error(
        _post(client, RETURNS, {"line": late.pk, "kind": "return_refund", "reason": "no_reason"}),
        400,
        "no_reason_window_closed",
    )
    assert body["fields"]["rule"] == "R1" and body["fields"]["decided_by"]
    assert "《消费者权益保护法》第二十五条" in body["message"]  # the law by name, not R1

    line = _line(merchant_a, consumer_a, quantity=2)
    _error(
        _post(
            client,
            RETURNS,
            {"line": line.pk, "kind": "return_refund", "reason": "no_reason", "quantity": 3},
        ),
        400,
        "quantity_exceeds_refundable",
    )
    _error(
        _post(client, RETURNS, {"line": line.pk, "kind": "return_refund", "reason": "quality"}),
        400,
        "evidence_required",
    )
    r = _post(client, RETURNS, {"line": line.pk, "kind": "teleport", "reason": "no_reason"})
    assert _error(r, 400, "invalid")["fields"]["kind"]
    # merchants do not ask for returns; the other tenant's line answers like a missing one
    _error(
        _post(
            api("merchant_a"),
            RETURNS,
            {"line": line.pk, "kind": "return_refund", "reason": "no_reason"},
        ),
        403,
        "permission_denied",
    )
    foreign = _line(merchant_b, af.ConsumerFactory())
    body = _error(
        _post(
            client, RETURNS, {"line": foreign.pk, "kind": "return_refund", "reason": "no_reason"}
        ),
        404,
        "not_found",
    )
    assert body["fields"] == {"line": "not_found"}
    assert not ReturnRequest.objects.exists()


def test_the_line_id_of_a_create_in_every_form_a_client_sends_it(
    api, roles, merchant_a, merchant_b, consumer_a
):
    """The consumer's own line is found by its compiled lookup (returns/api/serializers.py
    ``_line_of``); every other id answers as the scoped queryset would."""
    client = api("consumer_a")
    foreign = _line(merchant_b, af.ConsumerFactory())
    for bad in (foreign.pk, str(foreign.pk), 2**63 + 5, "99999999", 0, -3):
        body = _error(
            _post(client, RETURNS, {"line": bad, "kind": "return_refund", "reason": "no_reason"}),
            404,
            "not_found",
        )
        assert body["fields"] == {"line": "not_found"}, bad
    for bad in (True, "1.5", [1], {"id": 1}):
        body = _error(
            _post(client, RETURNS, {"line": bad, "kind": "return_refund", "reason": "no_reason"}),
            400,
            "invalid",
        )
        assert "line" in body["fields"], bad
    mine = _line(merchant_a, consumer_a)
    r = _post(
        client, RETURNS, {"line": str(mine.pk), "kind": "return_refund", "reason": "no_reason"}
    )
    assert r.status_code == 201, r.content
    assert r.json()["line"] == mine.pk and r.json()["quantity"] == mine.quantity  # default: all
    # a platform writer asks on the consumer's behalf: the scoped queryset, every line
    other = _line(merchant_b, af.ConsumerFactory())
    writer = api(PlatformGroup.MANAGER)
    r = _post(writer, RETURNS, {"line": other.pk, "kind": "return_refund", "reason": "no_reason"})
    assert r.status_code == 201, r.content


def test_quality_exchange_with_json_evidence_and_multipart(api, merchant_a, consumer_a):
    line = _line(merchant_a, consumer_a, quantity=2)
    r = _post(
        api("consumer_a"),
        RETURNS,
        {
            "line": line.pk,
            "kind": "exchange",
            "reason": "quality",
            "quantity": 1,
            "evidence": [{"filename": "crack.jpg", "content_base64": _b64(), "note": "裂痕"}],
        },
    )
    assert r.status_code == 201, r.content
    assert r.json()["shipping_payer"] == "merchant" and r.json()["shipping_rule"] == "R9"
    [item] = r.json()["evidence"]
    assert (item["party"], item["kind"], item["note"]) == ("consumer", "photo", "裂痕")
    download = api("merchant_a").get(item["download_url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"\xff\xd8\xff")  # re-encoded
    _error(api("merchant_b").get(item["download_url"]), 404, "not_found")

    r = api("consumer_a").post(
        RETURNS,
        {
            "line": line.pk,
            "kind": "return_refund",
            "reason": "damaged",
            "evidence": [SimpleUploadedFile("box.png", png_bytes())],
        },
        format="multipart",
    )
    assert r.status_code == 201, r.content
    assert r.json()["evidence"][0]["kind"] == "photo" and r.json()["quantity"] == 1


def test_evidence_upload_validates_type_and_size(api, merchant_a, consumer_a, monkeypatch):
    request = case(merchant_a, consumer_a)
    url = f"{RETURNS}{request.pk}/evidence/"
    r = api("merchant_a").post(
        url,
        {"file": SimpleUploadedFile("shelf.jpg", JPEG), "kind": "photo", "note": "货架"},
        format="multipart",
    )
    assert r.status_code == 201, r.content
    assert [(e["party"], e["note"]) for e in r.json()] == [("merchant", "货架")]
    bad = api("consumer_a").post(
        url, {"file": SimpleUploadedFile("virus.exe", b"MZ")}, format="multipart"
    )
    _error(bad, 400, "upload_unsupported_type")
    _error(
        _post(api("auditor"), url, {"evidence": [{"filename": "a.jpg", "content_base64": _b64()}]}),
        403,
        "platform_only",
    )
    monkeypatch.setitem(EVIDENCE_ACCEPT["add"].max_bytes, "image", 10)
    big = api("consumer_a").post(
        url, {"file": SimpleUploadedFile("big.jpg", JPEG)}, format="multipart"
    )
    _error(big, 400, "upload_too_large")
    _error(_post(api("consumer_a"), url, {"note": "没有文件"}), 400, "evidence_required")
    _error(
        _post(api("consumer_a"), url, {"evidence": [{"filename": "a.jpg", "content_base64": "%"}]}),
        400,
        "invalid",
    )
    assert ReturnEvidence.objects.count() == 1


# -- the merchant answers; the money goes back ----------------------------------------------------


def test_merchant_key_runs_the_whole_return(api, merchant_a, consumer_a):
    line = _line(
        merchant_a, consumer_a, price="100.00", tenders=(("card", "70.00"), ("balance", None))
    )
    request = case_from(api, line)
    key = api("merchant_key_a")
    r = _post(key, f"{RETURNS}{request}/approve/", {"reason": "同意"})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    assert {d["kind"] for d in r.json()["deadlines"]} == {"returns.close_unshipped"}
    r = _post(
        api("consumer_a"),
        f"{RETURNS}{request}/ship-back/",
        {"carrier": "SF", "tracking_number": "SF900001"},
    )
    assert r.status_code == 200 and r.json()["status"] == "return_shipped"
    # R20: the merchant's receipt window, whatever the carrier reports
    (receipt,) = r.json()["deadlines"]
    assert receipt["kind"] == "returns.receipt_confirm"
    assert citation("R20") in receipt["description"]
    shipped = clock.local(ReturnRequest.objects.get(pk=request).return_shipped_at).date()
    assert receipt["due_display"] == f"{shipped + timedelta(days=10):%Y-%m-%d} 24:00"
    _error(_post(key, f"{RETURNS}{request}/refund/"), 409, "invalid_status_transition")
    r = _post(key, f"{RETURNS}{request}/receive/", {"intact": True, "note": "完好"})
    assert r.status_code == 200 and r.json()["status"] == "received"
    assert [d["kind"] for d in r.json()["deadlines"]] == ["returns.refund_after_receipt"]
    r = _post(key, f"{RETURNS}{request}/refund/")
    assert r.status_code == 200, r.content
    refund = r.json()["refund"]
    assert r.json()["status"] == "refunding" and refund["status"] == "pending"
    assert [(p["tender_kind"], p["amount"], p["status"]) for p in refund["parts"]] == [
        ("card", "70.00", "pending"),
        ("balance", "30.00", "pending"),
    ]
    settle_refunds()
    data = api("consumer_a").get(f"{RETURNS}{request}/").json()
    assert data["status"] == "refunded" and data["refund"]["status"] == "succeeded"
    assert {p["gateway_status"] for p in data["refund"]["parts"]} == {"succeeded"}
    verbs = [e["verb"] for e in data["timeline"]]
    assert verbs[0] == "return.requested" and "return.refunded" in verbs
    # done is done: a second refund answers with the same one, a cancel is a conflict
    again = _post(key, f"{RETURNS}{request}/refund/")
    assert again.json()["refund"]["id"] == refund["id"] and Refund.objects.count() == 1
    _error(_post(api("consumer_a"), f"{RETURNS}{request}/cancel/"), 409, "return_not_cancellable")


def case_from(api, line):
    r = _post(
        api("consumer_a"),
        RETURNS,
        {"line": line.pk, "kind": "return_refund", "reason": "no_reason"},
    )
    assert r.status_code == 201, r.content
    return r.json()["id"]


def test_wrong_roles_are_refused_with_codes(api, merchant_a, consumer_a):
    request = case(merchant_a, consumer_a)
    url = f"{RETURNS}{request.pk}"
    _error(_post(api("consumer_a"), f"{url}/approve/"), 403, "permission_denied")
    _error(_post(api("auditor"), f"{url}/approve/"), 403, "read_only_role")
    _error(_post(api("merchant_a"), f"{url}/cancel/"), 403, "consumer_only")
    _error(
        _post(api("merchant_key_a"), f"{url}/override/", {"to_status": "closed", "reason": "x"}),
        403,
        "platform_only",
    )
    _error(_post(api("merchant_a"), f"{url}/reject/", {"reason": ""}), 400, "invalid")
    _error(
        _post(api("consumer_a"), f"{url}/escalate/", {"statement": "?"}),
        409,
        "invalid_status_transition",
    )
    assert _post(api("merchant_a"), f"{url}/approve/").status_code == 200
    _error(_post(api("merchant_a"), f"{url}/approve/"), 409, "invalid_status_transition")
    _error(
        _post(
            api("merchant_a"), f"{url}/ship-exchange/", {"carrier": "SF", "tracking_number": "1"}
        ),
        409,
        "not_an_exchange",
    )
    _error(_post(api("platform_key"), f"{RETURNS}987654/approve/"), 404, "not_found")
    r = _post(
        api("after_sales_agent"), f"{url}/override/", {"to_status": "closed", "reason": "重复申请"}
    )
    assert r.status_code == 200 and r.json()["status"] == "closed"
    assert "return.overridden" in [e["verb"] for e in r.json()["timeline"]]
    assert r.json()["status_reason"] == "重复申请"


def test_unshipped_refund_only_is_refunded_at_once(api, merchant_a, consumer_a):
    line = rf.order_line(merchant=merchant_a, consumer=consumer_a, price="59.90", quantity=2)
    r = _post(
        api("consumer_a"),
        RETURNS,
        {"line": line.pk, "kind": "refund_only", "reason": "changed_mind"},
    )
    assert r.status_code == 201, r.content
    data = r.json()
    assert data["status"] == "refunding" and data["rule"] == "R11" and data["quantity"] == 2
    assert data["refund"]["status"] == "pending" and data["refund"]["amount"] == "119.80"
    assert OrderLine.objects.get(pk=line.pk).cancelled_at is not None
    settle_refunds()
    assert api("consumer_a").get(f"{RETURNS}{data['id']}/").json()["status"] == "refunded"
    # the merchant can no longer ship the line
    r = _post(
        api("merchant_a"),
        "/api/v1/shipments/",
        {"line": line.pk, "carrier": "SF", "tracking_number": "SF-TOO-LATE"},
    )
    assert r.status_code == 400 and r.json()["code"] in ("line_cancelled", "order_cancelled")


def test_pickup_booking_and_exchange_shipping(api, merchant_a, consumer_a):
    request = case(merchant_a, consumer_a, to="approved", kind="exchange")
    day = clock.local(clock.now()).date() + timedelta(days=1)
    start = f"{day.isoformat()}T10:00:00+08:00"
    r = _post(
        api("consumer_a"),
        f"{RETURNS}{request.pk}/book-pickup/",
        {"slot_start": start, "slot_end": f"{day.isoformat()}T12:00:00+08:00"},
    )
    assert r.status_code == 200, r.content
    assert r.json()["pickup"]["status"] == "requested"
    assert r.json()["pickup"]["contact_name"] == "张*丰"
    _error(
        _post(
            api("consumer_a"),
            f"{RETURNS}{request.pk}/book-pickup/",
            {"slot_start": start, "slot_end": f"{day.isoformat()}T12:00:00+08:00"},
        ),
        409,
        "pickup_already_booked",
    )
    received = case(merchant_a, consumer_a, to="received", kind="exchange")
    r = _post(
        api("merchant_a"),
        f"{RETURNS}{received.pk}/ship-exchange/",
        {"carrier": "SF", "tracking_number": "SF-EXCHANGE-1"},
    )
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "exchange_shipped"
    assert r.json()["replacement_shipment"]["tracking_number"] == "SF-EXCHANGE-1"


def test_first_scan_pays_an_express_refund(api, merchant_a, consumer_a):
    request = case(merchant_a, consumer_a, to="return_shipped")
    r = _post(
        api("merchant_key_a"),
        f"{RETURNS}{request.pk}/parcel-events/",
        {"kind": "picked_up", "occurred_at": (clock.now() - timedelta(minutes=1)).isoformat()},
    )
    assert r.status_code == 200, r.content
    data = r.json()
    assert data["express"] is True and data["refund"]["source"] == "platform_express"
    assert [e["kind"] for e in data["ledger"]] == ["advance"]
    assert "returns.express_clawback" in {d["kind"] for d in data["deadlines"]}


# -- arbitration ----------------------------------------------------------------------------------


def test_reject_escalate_answer_inspect_decide(api, roles, merchant_a, consumer_a):
    request = case(merchant_a, consumer_a, price="200.00")
    url = f"{RETURNS}{request.pk}"
    r = _post(api("merchant_a"), f"{url}/reject/", {"reason": "已使用"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    r = _post(
        api("consumer_a"),
        f"{url}/escalate/",
        {
            "statement": "未使用，包装完好",
            "evidence": [{"filename": "box.jpg", "content_base64": _b64()}],
        },
    )
    assert r.status_code == 200 and r.json()["status"] == "arbitration"
    arbitration = r.json()["arbitration"]["id"]
    # R21: the merchant has 3 days to answer; the platform decides after the answer or then
    due = r.json()["arbitration"]["answer_due_at"]
    opened = ReturnRequest.objects.get(pk=request.pk).escalated_at
    assert datetime.fromisoformat(due) == rules.arbitration_answer_due(opened)
    assert api("merchant_a").get(f"{url}/").json()["arbitration"]["answer_due_at"] == due
    assert "returns.arbitration_answer" in {d["kind"] for d in r.json()["deadlines"]}
    body = _error(
        _post(
            api("after_sales_agent"),
            f"{ARBITRATIONS}{arbitration}/decide/",
            {"decision": "reject", "reason": "x"},
        ),
        409,
        "arbitration_answer_pending",
    )
    assert datetime.fromisoformat(body["fields"]["answer_due_at"]) == datetime.fromisoformat(due)

    queue = api("after_sales_agent").get(ARBITRATIONS).json()["results"]
    assert [a["id"] for a in queue] == [arbitration]
    assert queue[0]["consumer_statement"] == "未使用，包装完好"
    assert api("merchant_b").get(ARBITRATIONS).json()["results"] == []
    assert api("mediator").get(ARBITRATIONS).json()["results"] == []
    _error(api("mediator").get(f"{ARBITRATIONS}{arbitration}/"), 404, "not_found")

    r = _post(
        api("merchant_a"), f"{ARBITRATIONS}{arbitration}/answer/", {"statement": "有使用痕迹"}
    )
    assert r.status_code == 200 and r.json()["merchant_statement"] == "有使用痕迹"
    _error(
        _post(
            api("merchant_a"),
            f"{ARBITRATIONS}{arbitration}/decide/",
            {"decision": "reject", "reason": "x"},
        ),
        403,
        "platform_only",
    )
    r = _post(api("after_sales_agent"), f"{ARBITRATIONS}{arbitration}/request-inspection/")
    assert r.status_code == 200 and r.json()["status"] == "inspecting"
    assert r.json()["inspections"][0]["status"] == "requested"
    _error(
        _post(api("after_sales_agent"), f"{ARBITRATIONS}{arbitration}/request-inspection/"),
        409,
        "invalid_status_transition",
    )

    # a mediator granted the case sees it and may decide it
    from guardian.shortcuts import assign_perm

    assign_perm("returns.view_returnrequest", roles[PlatformGroup.MEDIATOR], request)
    assert [a["id"] for a in api("mediator").get(ARBITRATIONS).json()["results"]] == [arbitration]
    detail = api("mediator").get(f"{ARBITRATIONS}{arbitration}/").json()
    assert {e["party"] for e in detail["evidence"]} == {"consumer"}
    assert "return.arbitration" in [e["verb"] for e in detail["timeline"]]
    _error(
        _post(
            api("mediator"),
            f"{ARBITRATIONS}{arbitration}/decide/",
            {"decision": "refund_partial", "reason": "部分"},
        ),
        400,
        "amount_required",
    )
    r = _post(
        api("mediator"),
        f"{ARBITRATIONS}{arbitration}/decide/",
        {"decision": "refund_partial", "amount": "120.00", "reason": "轻微使用痕迹"},
    )
    assert r.status_code == 200, r.content
    assert (r.json()["status"], r.json()["decided_amount"]) == ("decided", "120.00")
    data = api("consumer_a").get(f"{url}/").json()
    assert data["status"] == "refunding" and data["refund"]["amount"] == "120.00"
    assert api("after_sales_agent").get(ARBITRATIONS).json()["results"] == []  # decided
    decided = api("after_sales_agent").get(f"{ARBITRATIONS}?status=decided").json()["results"]
    assert [a["id"] for a in decided] == [arbitration]


# -- lists ----------------------------------------------------------------------------------------


def test_list_filters(api, merchant_a, merchant_b, consumer_a, consumer_b):
    first = case(merchant_a, consumer_a)
    approved = case(merchant_a, consumer_a, to="approved")
    exchange = case(merchant_a, consumer_b, kind="exchange")
    other = case(merchant_b, consumer_a)
    ReturnRequest.objects.filter(pk=first.pk).update(requested_at=clock.now() - timedelta(days=10))

    def ids(who, query=""):
        r = api(who).get(f"{RETURNS}{query}")
        assert r.status_code == 200, r.content
        return sorted(row["id"] for row in r.json()["results"])

    assert ids("merchant_a") == sorted([first.pk, approved.pk, exchange.pk])
    assert ids("consumer_a") == sorted([first.pk, approved.pk, other.pk])
    assert ids("after_sales_agent", f"?merchant={merchant_b.pk}") == [other.pk]
    assert ids("merchant_a", "?status=approved") == [approved.pk]
    assert ids("merchant_a", "?status=approved&status=requested") == sorted(
        [first.pk, approved.pk, exchange.pk]
    )
    assert ids("merchant_a", "?kind=exchange") == [exchange.pk]
    # Part of the number, longer than an order number's 8 digits (SO00000009 holds "00009").
    assert ids("merchant_a", f"?search={approved.number[-9:]}") == [approved.pk]
    assert ids("merchant_a", f"?search={exchange.order.number}") == [exchange.pk]
    today = clock.today().isoformat()
    assert ids("merchant_a", f"?created_from={today}") == sorted([approved.pk, exchange.pk])
    yesterday = (clock.today() - timedelta(days=1)).isoformat()
    assert ids("merchant_a", f"?created_to={yesterday}") == [first.pk]
    assert ids("merchant_a", "?created_to=9999-12-31") == sorted(
        [first.pk, approved.pk, exchange.pk]
    )
    # every open request here has a countdown; a closed one has none
    api("after_sales_agent").post(
        f"{RETURNS}{exchange.pk}/override/",
        {"to_status": "closed", "reason": "测试"},
        format="json",
    )
    assert ids("merchant_a", "?has_open_deadline=true") == sorted([first.pk, approved.pk])
    assert ids("merchant_a", "?has_open_deadline=false") == [exchange.pk]
    assert ids("merchant_a", "?open=false") == [exchange.pk]
    _error(api("merchant_a").get(f"{RETURNS}?status=bogus"), 400, "invalid")


def test_list_runs_a_fixed_number_of_queries(
    api, merchant_a, consumer_a, django_assert_max_num_queries
):
    for i in range(11):
        request = case(merchant_a, consumer_a, to="received" if i % 3 == 0 else "requested")
        if i % 3 == 0:
            api("merchant_a").post(f"{RETURNS}{request.pk}/refund/", format="json")
    for who in ("merchant_a", "merchant_key_a", "consumer_a", "platform_key"):
        client = api(who)
        client.get(f"{RETURNS}?page_size=1")  # warm up (API key last-used write)
        for page_size in (2, 10):
            with django_assert_max_num_queries(4):
                r = client.get(f"{RETURNS}?page_size={page_size}&status=requested&status=refunding")
            assert r.status_code == 200 and len(r.json()["results"]) == page_size
            assert r.json()["next"]
        assert {row["refund_status"] for row in r.json()["results"]} == {"pending", None}


def test_detail_and_arbitration_queue_run_a_fixed_number_of_queries(
    api, merchant_a, consumer_a, django_assert_max_num_queries
):
    for _ in range(4):
        case(merchant_a, consumer_a, to="arbitration", reason="quality", evidence=True)
    client = api("after_sales_manager")
    with django_assert_max_num_queries(6):
        r = client.get(f"{ARBITRATIONS}?page_size=4")
    assert len(r.json()["results"]) == 4
    assert all(len(a["evidence"]) == 1 for a in r.json()["results"])
    request = ReturnRequest.objects.first()
    with django_assert_max_num_queries(12):
        r = client.get(f"{RETURNS}{request.pk}/")
    assert r.status_code == 200 and r.json()["arbitration"]["status"] == "open"


# -- Idempotency-Key and webhooks -----------------------------------------------------------------


def test_replays_of_create_and_refund_return_the_first_response(api, roles, merchant_a, consumer_a):
    line = _line(merchant_a, consumer_a)
    client = APIClient()
    client.force_login(roles["consumer_a"])  # a session: the middleware knows the caller
    body = {"line": line.pk, "kind": "return_refund", "reason": "no_reason"}
    first = _post(client, RETURNS, body, HTTP_IDEMPOTENCY_KEY="create-1")
    again = _post(client, RETURNS, body, HTTP_IDEMPOTENCY_KEY="create-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.content == first.content
    assert ReturnRequest.objects.count() == 1
    _error(
        _post(client, RETURNS, {**body, "description": "另一个"}, HTTP_IDEMPOTENCY_KEY="create-1"),
        400,
        "idempotency_key_reused",
    )
    # without a key, the same body is a new attempt: refused by R15, nothing is created
    _error(_post(client, RETURNS, body), 400, "quantity_exhausted")

    received = case(merchant_a, consumer_a, to="received")
    key = api("merchant_key_a")
    url = f"{RETURNS}{received.pk}/refund/"
    first = _post(key, url, HTTP_IDEMPOTENCY_KEY="refund-1")
    again = _post(key, url, HTTP_IDEMPOTENCY_KEY="refund-1")
    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replayed"] == "true" and again.content == first.content
    assert Refund.objects.filter(request=received).count() == 1


def test_return_and_refund_events_reach_subscribed_webhooks(
    api, merchant_a, merchant_b, consumer_a
):
    mine = WebhookEndpoint.objects.create(
        scope="merchant",
        merchant=merchant_a,
        url="https://hooks.example.com/a",
        event_types=["return.*", "refund.succeeded"],
        secret="s",
    )
    theirs = WebhookEndpoint.objects.create(
        scope="merchant",
        merchant=merchant_b,
        url="https://hooks.example.com/b",
        event_types=["*"],
        secret="s",
    )
    request = case(merchant_a, consumer_a, to="received")
    api("merchant_a").post(f"{RETURNS}{request.pk}/refund/", format="json")
    settle_refunds()
    types = list(WebhookDelivery.objects.filter(endpoint=mine).values_list("event_type", flat=True))
    assert {"return.requested", "return.approved", "return.received", "refund.succeeded"} <= set(
        types
    )
    assert "return.refunded" in types
    approved = WebhookDelivery.objects.get(endpoint=mine, event_type="return.approved")
    event = DomainEvent.objects.get(pk=approved.event_id)
    assert event.payload["return_request_id"] == request.pk
    assert event.payload["number"] == request.number
    assert not WebhookDelivery.objects.filter(endpoint=theirs).exists()


def test_r15_partial_returns_use_cumulative_rounding(api, merchant_a, consumer_a):
    line = _line(merchant_a, consumer_a, quantity=3, price="33.34", paid="100.00")
    client = api("consumer_a")
    body = {"line": line.pk, "kind": "return_refund", "reason": "no_reason"}
    first = _post(client, RETURNS, {**body, "quantity": 2})
    assert first.status_code == 201, first.content
    last = _post(client, RETURNS, {**body, "quantity": 1})
    assert last.status_code == 201, last.content
    assert (first.json()["amount"], last.json()["amount"]) == ("66.67", "33.33")


def test_r2_digital_goods_unsealed_through_the_orders_api(api, merchant_a, consumer_a):
    category = of.CategoryFactory(no_reason_class="excluded_by_law", exclusion_reason="digital")
    line = _line(merchant_a, consumer_a, category=category)
    options_url = f"/api/v1/order-lines/{line.pk}/return-options/"
    no_reason = next(
        o
        for o in api("consumer_a").get(options_url).json()["options"]
        if o["kind"] == rules.NO_REASON_RETURN
    )
    assert no_reason["available"] and no_reason["code"] == "no_reason_open_sealed"
    r = _post(api("consumer_a"), f"/api/v1/orders/{line.order_id}/unsealed/", {"line": line.pk})
    assert r.status_code == 200, r.content
    (shown,) = r.json()["lines"]
    assert shown["unsealed_via"] == "consumer_confirmation" and shown["unsealed_at"]
    no_reason = next(
        o
        for o in api("consumer_a").get(options_url).json()["options"]
        if o["kind"] == rules.NO_REASON_RETURN
    )
    assert (no_reason["available"], no_reason["rule"]) == (False, "R2")
    _error(
        _post(
            api("consumer_a"),
            RETURNS,
            {"line": line.pk, "kind": "return_refund", "reason": "no_reason"},
        ),
        400,
        "no_reason_excluded_by_law",
    )
    other = _line(merchant_a, consumer_a)
    _error(
        _post(api("merchant_a"), f"/api/v1/orders/{other.order_id}/unsealed/", {"line": other.pk}),
        400,
        "unseal_not_applicable",
    )


def test_r17_a_high_value_returns_pickup_is_insured(api, merchant_a, consumer_a):
    request = case(merchant_a, consumer_a, to="approved", price="6000.00")
    day = clock.local(clock.now()).date() + timedelta(days=1)
    r = _post(
        api("consumer_a"),
        f"{RETURNS}{request.pk}/book-pickup/",
        {
            "slot_start": f"{day.isoformat()}T10:00:00+08:00",
            "slot_end": f"{day.isoformat()}T12:00:00+08:00",
        },
    )
    assert r.status_code == 200, r.content
    assert r.json()["insured"] is True
    assert (r.json()["pickup"]["insured"], r.json()["pickup"]["declared_value"]) == (
        True,
        "6000.00",
    )


def test_r8_insured_line_claim_shown_on_the_request(api, merchant_a, consumer_a):
    from returns import tasks
    from returns.models import ShippingInsuranceClaim

    line = _line(merchant_a, consumer_a)
    OrderLine.objects.filter(pk=line.pk).update(return_shipping_insured=True)
    options = api("consumer_a").get(f"/api/v1/order-lines/{line.pk}/return-options/").json()
    assert options["shipping"][rules.NO_REASON]["payer"] == "insurance"
    request = case_from(api, line)
    _post(api("merchant_a"), f"{RETURNS}{request}/approve/")
    r = _post(
        api("consumer_a"),
        f"{RETURNS}{request}/ship-back/",
        {"carrier": "SF", "tracking_number": "SF-INS-1", "shipping_fee": "15.00"},
    )
    assert r.status_code == 200, r.content
    assert r.json()["insurance_claim"]["status"] == "requested"
    tasks.sandbox_insurance_process(ShippingInsuranceClaim.objects.get().pk)
    claim = api("consumer_a").get(f"{RETURNS}{request}/").json()["insurance_claim"]
    assert (claim["status"], claim["paid_amount"]) == ("paid", "15.00")
