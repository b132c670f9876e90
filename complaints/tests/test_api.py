"""The complaints API: intake by the consumer, repeats, scope, the merchant's answer, the wait
for the consumer, escalation, the receipt and its public verification."""

import pytest

from aftersales.tenancy.models import ConsumerProfile
from complaints import merkle
from complaints.models import Complaint, LogHead, LogNode, node_key
from complaints.services import checkpoint_publish
from complaints.tests.factories import order_of
from complaints.tests.test_records import triggers_off

pytestmark = pytest.mark.django_db


@pytest.fixture
def order_a(roles, merchant_a):
    consumer = ConsumerProfile.objects.get(user=roles["consumer_a"])
    return order_of(merchant_a, consumer)


def body(order, **kw):
    return {
        "subject_kind": "order",
        "order": order.pk,
        "issue": "product_quality",
        "description": "屏幕坏点",
        "amount": "800.00",
        **kw,
    }


def test_a_consumer_complains_and_a_repeat_returns_the_same_complaint(api, order_a):
    consumer = api("consumer_a")
    created = consumer.post("/api/v1/complaints/", body(order_a), format="json")
    assert created.status_code == 201, created.json()
    data = created.json()
    assert data["grade"] == "P3" and data["channel"] == "self_service"
    assert data["status"] == "merchant_handling"
    assert {c["kind"] for c in data["clocks"]} == {
        "complaints.first_response",
        "complaints.merchant_negotiation",
    }
    again = consumer.post("/api/v1/complaints/", body(order_a), format="json")
    assert again.status_code == 200 and again.json()["id"] == data["id"]
    assert again.json()["repeat_count"] == 1 and again.json()["grade"] == "P2"
    assert Complaint.objects.count() == 1


def test_scope_consumer_b_and_merchant_b_see_nothing(api, order_a):
    complaint_id = (
        api("consumer_a").post("/api/v1/complaints/", body(order_a), format="json").json()["id"]
    )
    for role in ("consumer_b", "merchant_b"):
        assert api(role).get(f"/api/v1/complaints/{complaint_id}/").status_code == 404
        assert api(role).get("/api/v1/complaints/").json()["results"] == []
    assert api("merchant_a").get("/api/v1/complaints/").json()["results"][0]["id"] == complaint_id
    assert api(None).get("/api/v1/complaints/").status_code == 401


def test_merchant_answers_asks_for_more_and_the_consumer_replies(api, order_a):
    complaint_id = (
        api("consumer_a").post("/api/v1/complaints/", body(order_a), format="json").json()["id"]
    )
    url = f"/api/v1/complaints/{complaint_id}/"
    merchant = api("merchant_a")
    answered = merchant.post(url + "respond/", {"message": "已安排检测"}, format="json")
    assert answered.status_code == 200 and answered.json()["first_responded_at"]
    assert [c["kind"] for c in answered.json()["clocks"]] == ["complaints.merchant_negotiation"]
    waiting = merchant.post(url + "request-info/", {"message": "请提供照片"}, format="json")
    assert waiting.json()["status"] == "waiting_consumer"
    assert [c["state"] for c in waiting.json()["clocks"]] == ["paused"]
    consumer = api("consumer_a")
    # The consumer may not resolve: they see it, so 403, not 404.
    assert consumer.post(url + "resolve/", {"conclusion": "x"}, format="json").status_code == 403
    replied = consumer.post(url + "reply/", {"message": "照片已上传"}, format="json")
    assert replied.json()["status"] == "merchant_handling"
    escalated = consumer.post(url + "escalate/", {"reason": "商家拖延"}, format="json")
    assert escalated.json()["status"] == "platform_mediation"
    assert [c["kind"] for c in escalated.json()["clocks"]] == ["complaints.platform_handling"]
    resolved = api("after_sales_agent").post(
        url + "resolve/", {"conclusion": "商家退款 800 元"}, format="json"
    )
    assert resolved.json()["status"] == "resolved" and resolved.json()["clocks"] == []
    assert consumer.post(url + "reply/", {"message": "x"}, format="json").status_code == 409


def test_receipt_download_and_public_verification(api, order_a):
    complaint_id = (
        api("consumer_a").post("/api/v1/complaints/", body(order_a), format="json").json()["id"]
    )
    response = api("consumer_a").get(f"/api/v1/complaints/{complaint_id}/receipt/")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    receipt = response.json()
    assert [e["seq"] for e in receipt["entries"]] == [1, 2]
    anonymous = api(None)
    checked = anonymous.post("/api/v1/complaint-log/verify/", receipt, format="json")
    assert checked.status_code == 200 and checked.json() == {"valid": True, "errors": []}
    receipt["entries"][0]["data"]["amount"] = "8.00"
    checked = anonymous.post("/api/v1/complaint-log/verify/", receipt, format="json")
    assert checked.json()["valid"] is False
    published = anonymous.get("/api/v1/complaint-log/checkpoint/").json()
    assert published["checkpoint"]["tree_size"] >= 2
    assert published["public_key"] == receipt["public_key"]


def test_staff_enter_a_hotline_complaint_for_the_consumer(api, order_a):
    response = api("after_sales_agent").post(
        "/api/v1/complaints/", body(order_a, channel="hotline"), format="json"
    )
    assert response.status_code == 201
    assert response.json()["channel"] == "hotline"
    assert response.json()["consumer"] == order_a.consumer_id
    key = api("platform_key").post(
        "/api/v1/complaints/", body(order_a, issue="delivery"), format="json"
    )
    assert key.json()["channel"] == "api"
    assert (
        api("merchant_a")
        .post("/api/v1/complaints/", body(order_a, issue="refund"), format="json")
        .status_code
        == 404
    )


def test_list_queries_are_bounded(api, order_a, django_assert_max_num_queries):
    client = api("after_sales_agent")
    for issue in ("product_quality", "delivery", "refund", "other"):
        client.post("/api/v1/complaints/", body(order_a, issue=issue), format="json")
    with django_assert_max_num_queries(12):
        response = client.get("/api/v1/complaints/")
    assert len(response.json()["results"]) == 4


def test_the_public_verification_notices_a_log_rewritten_since_the_receipt(api, order_a):
    """A receipt holds a checkpoint; whoever rewrites the log afterwards (and signs a fresh
    checkpoint over the rewritten log with the platform's key) cannot prove the new log extends
    the receipt's: the public verification answers ``rollback``."""
    complaint_id = (
        api("consumer_a").post("/api/v1/complaints/", body(order_a), format="json").json()["id"]
    )
    receipt = api("consumer_a").get(f"/api/v1/complaints/{complaint_id}/receipt/").json()
    anonymous = api(None)
    verify = "/api/v1/complaint-log/verify/"
    assert anonymous.post(verify, receipt, format="json").json()["valid"] is True
    # The log grows: the receipt still verifies, and the log proves it only grew.
    api("merchant_a").post(
        f"/api/v1/complaints/{complaint_id}/respond/", {"message": "已处理"}, format="json"
    )
    latest = checkpoint_publish()
    assert anonymous.post(verify, receipt, format="json").json()["valid"] is True
    proof = anonymous.get(
        "/api/v1/complaint-log/consistency/", {"first": receipt["checkpoint"]["tree_size"]}
    ).json()
    assert proof["second"] == latest.tree_size and proof["proof"]
    # The first leaf rewritten, every subtree hash rebuilt over it, the checkpoints replaced.
    size = LogHead.objects.get(pk=1).size
    row = [
        bytes.fromhex(h)
        for h in LogNode.objects.filter(level=0).order_by("index").values_list("hash", flat=True)
    ]
    row[0] = merkle.leaf_hash(b"rewritten")
    with triggers_off() as cursor:
        cursor.execute("DELETE FROM complaints_lognode")
        cursor.execute("DELETE FROM complaints_checkpoint")
        level = 0
        while row:
            for index, h in enumerate(row):
                cursor.execute(
                    "INSERT INTO complaints_lognode (key, level, index, hash) "
                    "VALUES (%s, %s, %s, %s)",
                    [node_key(level, index), level, index, h.hex()],
                )
            row = [merkle.node_hash(row[i], row[i + 1]) for i in range(0, len(row) - 1, 2)]
            level += 1
    assert checkpoint_publish().tree_size == size
    result = anonymous.post(verify, receipt, format="json").json()
    assert result == {"valid": False, "errors": [{"error": "rollback"}]}
