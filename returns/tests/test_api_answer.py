"""The answer to a create is built from the request the service returns (no re-read of the
row): it must be exactly what reading the request back gives, for each way a request starts."""

import base64
from datetime import timedelta

import pytest

from aftersales import clock
from aftersales.tests.uploads import jpeg_bytes
from returns.tests import factories as rf

pytestmark = pytest.mark.django_db

PHOTO = base64.b64encode(jpeg_bytes()).decode()


def _created_then_read(client, body):
    created = client.post("/api/v1/returns/", body, format="json")
    assert created.status_code == 201, created.content
    read = client.get(f"/api/v1/returns/{created.json()['id']}/")
    assert read.status_code == 200, read.content
    # Byte for byte: the timeline's data keys in the order the database gives them back.
    assert created.content == read.content
    return created.json(), read.json()


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "return_refund", "reason": "no_reason"},
        {"kind": "exchange", "reason": "no_reason"},
        {
            "kind": "return_refund",
            "reason": "quality",
            "evidence": [{"filename": "crack.jpg", "content_base64": PHOTO, "note": "裂痕"}],
        },
    ],
    ids=["no-reason return", "exchange", "quality return with evidence"],
)
def test_create_answer_equals_the_request_read_back(api, merchant_a, roles, body):
    consumer = roles["consumer_a"].consumer
    line = rf.signed_line(
        signed_at=clock.now() - timedelta(days=1), merchant=merchant_a, consumer=consumer
    )
    created, read = _created_then_read(api("consumer_a"), {"line": line.pk, **body})
    assert created == read
    assert created["deadlines"] and created["timeline"]  # not an empty answer
    assert len(created["evidence"]) == len(body.get("evidence", ()))


def test_instant_refund_answer_equals_the_request_read_back(api, merchant_a, roles):
    consumer = roles["consumer_a"].consumer
    line = rf.order_line(
        merchant=merchant_a, consumer=consumer, tenders=(("card", "60.00"), ("balance", None))
    )
    created, read = _created_then_read(
        api("consumer_a"), {"line": line.pk, "kind": "refund_only", "reason": "changed_mind"}
    )
    assert created == read
    assert created["status"] == "refunding"
    assert len(created["refund"]["parts"]) == 2


def test_create_with_a_pickup_slot_answer_equals_the_request_read_back(api, merchant_a, roles):
    consumer = roles["consumer_a"].consumer
    line = rf.signed_line(
        signed_at=clock.now() - timedelta(days=1), merchant=merchant_a, consumer=consumer
    )
    start = (clock.now() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    body = {
        "line": line.pk,
        "kind": "return_refund",
        "reason": "no_reason",
        "pickup_slot_start": start.isoformat(),
        "pickup_slot_end": (start + timedelta(hours=2)).isoformat(),
    }
    created, read = _created_then_read(api("consumer_a"), body)
    assert created == read and created["pickup_slot_start"]


def test_an_instance_kept_after_its_create_reads_what_later_steps_wrote(merchant_a):
    """The rows kept for the answer are never read by anything else: a later service on the
    same instance (the demo, tests) sees the database."""
    from aftersales.casefile.timeline import timeline_events
    from returns import selectors

    line = rf.signed_line(signed_at=clock.now() - timedelta(days=1), merchant=merchant_a)
    # Created and approved on the same instance (the factory's services, one after the other).
    request, _consumer, _merchant = rf.request_at(line, "approved")
    verbs = [e.verb for e in timeline_events(request)]
    assert "return.approved" in verbs
    kinds = [d.kind for d in selectors.return_request_deadlines(request)]
    assert "returns.auto_approve" not in kinds and kinds
