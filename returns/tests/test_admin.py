"""The returns console: pages for every platform role, actions through the services (with their
timeline events), the arbitration queue end to end with the sandbox inspector, mediators'
grants, the return policies per scope, and the analytics page."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from guardian.shortcuts import assign_perm

from aftersales import clock
from aftersales.casefile.models import TimelineEvent
from aftersales.deadlines.models import Deadline
from aftersales.policies.models import PolicyVersion
from returns import services, tasks
from returns.models import Arbitration, InspectionRequest, Refund, ReturnRequest
from returns.tests import factories as rf
from returns.tests.conftest import settle_refunds
from returns.tests.test_analytics import queries_do_not_grow

pytestmark = pytest.mark.django_db

STAFF = ("after_sales_agent", "after_sales_manager", "auditor")


def requested(**kw):
    line = rf.signed_line(signed_at=clock.now() - timedelta(days=2), **kw)
    return services.return_request_create(
        line=line,
        kind="return_refund",
        reason="no_reason",
        quantity=1,
        actor=rf.consumer_actor(line.order.consumer),
    )


def received(*, intact=True, **kw):
    request = requested(**kw)
    merchant = rf.merchant_actor(request.merchant)
    consumer = rf.consumer_actor(request.consumer)
    request = services.return_request_approve(request=request, actor=merchant)
    request = services.return_ship_back(
        request=request, actor=consumer, carrier="SF", tracking_number=f"SFR{request.pk}"
    )
    evidence = () if intact else [rf.photo("box.jpg")]
    note = "" if intact else "外包装破损，机身有划痕"
    return services.return_receive(
        request=request, actor=merchant, intact=intact, note=note, evidence=evidence
    )


def in_arbitration(**kw):
    """Disputed at receipt (not intact, photos), escalated by the consumer with a photo, and
    answered by the merchant."""
    request = received(intact=False, **kw)
    services.return_escalate(
        request=request,
        actor=rf.consumer_actor(request.consumer),
        statement="寄出时完好，有开箱视频截图",
        evidence=[rf.photo("unboxing.png")],
    )
    services.arbitration_answer(
        request=request,
        actor=rf.merchant_actor(request.merchant),
        statement="收到时外壳碎裂",
        evidence=[rf.photo("crack.jpg")],
    )
    request.refresh_from_db()
    return request


@pytest.fixture
def as_role(client, roles):
    def login(role):
        client.force_login(roles[role])
        return client

    return login


def verbs(request):
    return list(
        TimelineEvent.objects.filter(
            subject_type="returns.returnrequest", subject_id=request.pk
        ).values_list("verb", flat=True)
    )


ADMIN_MODELS = (
    "returnrequest",
    "arbitration",
    "inspectionrequest",
    "refund",
    "refundpart",
    "expressrefundledgerentry",
    "returnevidence",
)


# -- pages --------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", STAFF)
def test_every_page_loads_for_platform_staff(role, as_role):
    case = in_arbitration()
    services.arbitration_inspection_request(request=case, actor=rf.SYSTEM)
    express = requested()
    express = services.return_request_approve(
        request=express, actor=rf.merchant_actor(express.merchant)
    )
    express = services.return_ship_back(
        request=express,
        actor=rf.consumer_actor(express.consumer),
        carrier="SF",
        tracking_number="X1",
    )
    services.return_parcel_scan_record(
        request=express, kind="picked_up", occurred_at=clock.now(), actor=rf.SYSTEM
    )
    assert express.ledger_entries.exists()  # R12: the platform advanced the refund
    client = as_role(role)
    for model in ADMIN_MODELS:
        r = client.get(reverse(f"admin:returns_{model}_changelist"))
        assert r.status_code == 200, (model, r.status_code)
        assert r.context["cl"].result_count >= 1, model
        first = r.context["cl"].result_list[0]
        page = client.get(reverse(f"admin:returns_{model}_change", args=[first.pk]))
        assert page.status_code == 200, model
    page = client.get(reverse("admin:returns_returnrequest_change", args=[case.pk]))
    html = page.content.decode()
    assert case.number in html and "return.arbitration_answered" in html  # the timeline
    assert "<img" in html  # evidence thumbnails
    assert client.get(reverse("admin:returns_arbitration_queue")).status_code == 200
    review = client.get(reverse("admin:returns_arbitration_review", args=[case.arbitration.pk]))
    assert review.status_code == 200
    assert client.get(reverse("admin:returns_returnrequest_analytics")).status_code == 200


def test_the_timeline_names_every_step_beside_its_verb(as_role):
    from returns.admin import case_timeline

    case = in_arbitration()
    services.arbitration_inspection_request(request=case, actor=rf.SYSTEM)
    refunded = received()
    services.return_refund(request=refunded, actor=rf.merchant_actor(refunded.merchant))
    events = [e for req in (case, refunded) for e in case_timeline([req])[req.pk]]
    assert len({e.verb for e in events}) >= 10
    unnamed = sorted({e.verb for e in events if not e.verb_label})
    assert unnamed == []  # every verb these flows write has a name
    html = (
        as_role("after_sales_agent")
        .get(reverse("admin:returns_returnrequest_change", args=[case.pk]))
        .content.decode()
    )
    assert "商家提交仲裁答辩" in html and "<code>return.arbitration_answered</code>" in html
    assert "设定期限" in html  # a kernel step (deadline.scheduled)


def test_list_shows_masked_consumer_and_nearest_deadline(as_role):
    request = requested()
    due = Deadline.objects.get(
        subject_type="returns.returnrequest", subject_id=request.pk, kind="returns.auto_approve"
    ).due_at
    r = as_role("after_sales_agent").get(reverse("admin:returns_returnrequest_changelist"))
    html = r.content.decode()
    assert "张*丰" in html and "张三丰" not in html
    assert clock.local(due).strftime("%Y-%m-%d %H:%M") in html
    # Overdue filter: not yet; a minute after the deadline it is.
    assert (
        as_role("after_sales_agent")
        .get(reverse("admin:returns_returnrequest_changelist"), {"due": "overdue"})
        .context["cl"]
        .result_count
        == 0
    )
    Deadline.objects.filter(pk__in=Deadline.objects.filter(subject_id=request.pk)).update(
        due_at=clock.now() - timedelta(minutes=1)
    )
    r = as_role("after_sales_agent").get(
        reverse("admin:returns_returnrequest_changelist"), {"due": "overdue"}
    )
    assert r.context["cl"].result_count == 1


def test_list_query_count_does_not_grow_with_rows(as_role):
    requested()
    client = as_role("after_sales_manager")
    url = reverse("admin:returns_returnrequest_changelist")
    page = queries_do_not_grow(client, url, lambda: [requested() for _ in range(4)])
    assert page.context["cl"].result_count == 5


def test_search_by_number_and_order_number(as_role):
    a, b = requested(), requested()
    client = as_role("after_sales_agent")
    url = reverse("admin:returns_returnrequest_changelist")
    assert list(client.get(url, {"q": a.number}).context["cl"].result_list) == [a]
    assert list(client.get(url, {"q": b.order.number}).context["cl"].result_list) == [b]


# -- actions ------------------------------------------------------------------------------------


def post_action(client, action, objs, **data):
    return client.post(
        reverse("admin:returns_returnrequest_changelist"),
        {"action": action, "_selected_action": [o.pk for o in objs], **data},
    )


def test_approve_action_calls_the_service(as_role, roles):
    request = requested()
    client = as_role("after_sales_agent")
    page = post_action(client, "approve_selected", [request])
    assert page.status_code == 200 and request.number in page.content.decode()  # confirm first
    request.refresh_from_db()
    assert request.status == "requested"
    r = post_action(client, "approve_selected", [request], apply="1", note="核实后同意")
    assert r.status_code == 302
    request.refresh_from_db()
    assert request.status == "approved"
    event = TimelineEvent.objects.filter(subject_id=request.pk, to_status="approved").get()
    assert event.actor_label == roles["after_sales_agent"].username
    # The R13 auto-approval is cancelled and the R14 close is scheduled.
    kinds = set(
        Deadline.objects.filter(subject_id=request.pk, state="pending").values_list(
            "kind", flat=True
        )
    )
    assert "returns.auto_approve" not in kinds and "returns.close_unshipped" in kinds


def test_reject_needs_a_reason(as_role):
    request = requested()
    client = as_role("after_sales_manager")
    page = post_action(client, "reject_selected", [request], apply="1", reason="")
    assert page.status_code == 200 and "errorlist" in page.content.decode()
    request.refresh_from_db()
    assert request.status == "requested"
    post_action(client, "reject_selected", [request], apply="1", reason="商品已使用，影响二次销售")
    request.refresh_from_db()
    assert request.status == "rejected"
    event = TimelineEvent.objects.get(subject_id=request.pk, to_status="rejected")
    assert event.reason == "商品已使用，影响二次销售"


def test_refund_action_refunds_once(as_role):
    request = received()
    client = as_role("after_sales_agent")
    for _ in range(2):
        post_action(client, "refund_selected", [request], apply="1", confirm="on")
    assert Refund.objects.filter(request=request).count() == 1
    settle_refunds()
    request.refresh_from_db()
    assert request.status == "refunded"
    assert "return.refund_started" in verbs(request) or request.refund.amount == request.amount


def test_refund_action_reports_a_refusal(as_role):
    request = requested()  # not received yet: the service refuses
    r = post_action(
        as_role("after_sales_agent"), "refund_selected", [request], apply="1", confirm="on"
    )
    assert r.status_code == 302
    request.refresh_from_db()
    assert request.status == "requested" and not Refund.objects.exists()


def test_override_asks_for_reason_and_confirmation(as_role):
    request = requested()
    client = as_role("after_sales_manager")
    page = post_action(
        client, "override_selected", [request], apply="1", to_status="closed", reason="重复申请"
    )
    assert page.status_code == 200  # not confirmed
    request.refresh_from_db()
    assert request.status == "requested"
    post_action(
        client,
        "override_selected",
        [request],
        apply="1",
        to_status="closed",
        reason="重复申请",
        confirm="on",
    )
    request.refresh_from_db()
    assert request.status == "closed"
    event = TimelineEvent.objects.get(subject_id=request.pk, verb="return.overridden")
    assert event.reason == "重复申请" and event.data.get("override") is True


def test_single_request_buttons(as_role):
    request = requested()
    client = as_role("after_sales_agent")
    page = client.get(reverse("admin:returns_returnrequest_change", args=[request.pk]))
    act = reverse("admin:returns_returnrequest_act", args=[request.pk, "reject"])
    assert act in page.content.decode()
    assert client.get(act).status_code == 200
    request.refresh_from_db()
    assert request.status == "requested"  # a GET changes nothing
    r = client.post(act, {"apply": "1", "reason": "超出七天"})
    assert r.status_code == 302
    request.refresh_from_db()
    assert request.status == "rejected"


def test_auditor_is_read_only(as_role):
    request = requested()
    client = as_role("auditor")
    page = client.get(reverse("admin:returns_returnrequest_changelist"))
    assert page.context["action_form"] is None or not [
        c for c in page.context["action_form"].fields["action"].choices if c[0]
    ]
    post_action(client, "approve_selected", [request], apply="1")
    act = reverse("admin:returns_returnrequest_act", args=[request.pk, "approve"])
    assert client.post(act, {"apply": "1"}).status_code == 403
    change = client.get(reverse("admin:returns_returnrequest_change", args=[request.pk]))
    assert act not in change.content.decode()
    request.refresh_from_db()
    assert request.status == "requested"


# -- arbitration ----------------------------------------------------------------------------------


def test_queue_query_count_does_not_grow_with_the_queue(as_role):
    in_arbitration()
    client = as_role("after_sales_agent")
    url = reverse("admin:returns_arbitration_queue")
    page = queries_do_not_grow(client, url, lambda: [in_arbitration() for _ in range(2)])
    assert len(page.context["rows"]) == 3


def test_queue_lists_open_arbitrations_oldest_first_with_age(as_role):
    first = in_arbitration()
    Arbitration.objects.filter(request=first).update(opened_at=clock.now() - timedelta(days=3))
    second = in_arbitration()
    decided = in_arbitration()
    services.arbitration_decide(
        request=decided, actor=rf.SYSTEM, decision="reject", reason="证据不足"
    )
    r = as_role("after_sales_agent").get(reverse("admin:returns_arbitration_queue"))
    rows = r.context["rows"]
    assert [a.request_id for a in rows] == [first.pk, second.pk]
    assert rows[0].age.startswith("3 天")
    html = r.content.decode()
    assert "寄出时完好" in html and "收到时外壳碎裂" in html
    assert html.count("<img") >= 6 and "return.arbitration_answered" in html
    every = as_role("after_sales_agent").get(reverse("admin:returns_arbitration_queue"), {"all": 1})
    assert len(every.context["rows"]) == 3


def test_arbitration_inspection_and_partial_refund_end_to_end(as_role):
    case = in_arbitration()
    arbitration = case.arbitration
    client = as_role("after_sales_agent")
    url = reverse("admin:returns_arbitration_review", args=[arbitration.pk])
    page = client.get(url).content.decode()
    assert "寄出时完好" in page and "收到时外壳碎裂" in page  # both sides' statements
    assert page.count("<img") >= 3  # the photos of both sides
    assert "return.arbitration" in page and "return.arbitration_answered" in page

    assert client.post(url, {"_inspect": "1"}).status_code == 302
    inspection = InspectionRequest.objects.get(arbitration=arbitration)
    arbitration.refresh_from_db()
    assert arbitration.status == "inspecting" and inspection.status == "requested"
    tasks.sandbox_inspection_process(inspection.pk)  # the sandbox inspector answers
    inspection.refresh_from_db()
    arbitration.refresh_from_db()
    assert inspection.result == "not_intact" and arbitration.status == "open"
    assert "检测结论" in client.get(url).content.decode()

    # A partial refund needs an amount; then it is decided and refunded through the gateway.
    r = client.post(url, {"_decide": "1", "decision": "refund_partial", "reason": "部分责任"})
    assert r.status_code == 200 and "errorlist" in r.content.decode()
    r = client.post(
        url,
        {"_decide": "1", "decision": "refund_partial", "amount": "30.00", "reason": "双方均有责任"},
    )
    assert r.status_code == 302
    arbitration.refresh_from_db()
    assert arbitration.status == "decided" and arbitration.decided_amount == Decimal("30.00")
    assert Refund.objects.get(request=case).amount == Decimal("30.00")
    settle_refunds()
    case.refresh_from_db()
    assert case.status == "refunded"
    assert {"return.inspection_requested", "return.inspection_reported"} <= set(verbs(case))
    # Decided: no more forms; another decision is refused by the service.
    assert 'name="_decide"' not in client.get(url).content.decode()
    client.post(url, {"_decide": "1", "decision": "reject", "reason": "改判"})
    arbitration.refresh_from_db()
    assert arbitration.decision == "refund_partial"


def test_decide_reject_closes_the_case(as_role):
    case = in_arbitration()
    url = reverse("admin:returns_arbitration_review", args=[case.arbitration.pk])
    as_role("after_sales_manager").post(
        url, {"_decide": "1", "decision": "reject", "reason": "商品人为损坏"}
    )
    case.refresh_from_db()
    assert case.status == "closed" and not Refund.objects.exists()


def test_auditor_cannot_decide(as_role):
    case = in_arbitration()
    url = reverse("admin:returns_arbitration_review", args=[case.arbitration.pk])
    client = as_role("auditor")
    assert 'name="_decide"' not in client.get(url).content.decode()
    client.post(url, {"_decide": "1", "decision": "refund_full", "reason": "x"})
    client.post(url, {"_inspect": "1"})
    case.arbitration.refresh_from_db()
    assert case.arbitration.status == "open" and not InspectionRequest.objects.exists()


def test_mediator_sees_and_decides_only_granted_arbitrations(as_role, roles):
    granted, other = in_arbitration(), in_arbitration()
    assign_perm("returns.view_returnrequest", roles["mediator"], granted)
    client = as_role("mediator")
    queue = client.get(reverse("admin:returns_arbitration_queue"))
    assert [a.request_id for a in queue.context["rows"]] == [granted.pk]
    listing = client.get(reverse("admin:returns_returnrequest_changelist"))
    assert list(listing.context["cl"].result_list) == [granted]
    evidence = client.get(reverse("admin:returns_returnevidence_changelist"))
    assert {e.request_id for e in evidence.context["cl"].result_list} == {granted.pk}
    foreign = reverse("admin:returns_arbitration_review", args=[other.arbitration.pk])
    assert client.get(foreign).status_code == 403
    assert client.post(foreign, {"_decide": "1", "decision": "reject", "reason": "x"}).status_code
    other.arbitration.refresh_from_db()
    assert other.arbitration.status == "open"
    assert client.get(reverse("admin:returns_returnrequest_analytics")).status_code == 403

    url = reverse("admin:returns_arbitration_review", args=[granted.arbitration.pk])
    client.post(url, {"_decide": "1", "decision": "refund_full", "reason": "调解委员会认定"})
    granted.arbitration.refresh_from_db()
    assert granted.arbitration.status == "decided"
    assert granted.arbitration.decided_by == roles["mediator"]


# -- policies -------------------------------------------------------------------------------------


def test_merchant_policy_set_in_the_admin_changes_what_services_use(as_role, merchant_a):
    client = as_role("after_sales_manager")
    r = client.post(
        reverse("admin:aftersales_policyversion_add"),
        {
            "key": "returns.auto_approve_hours",
            "scope": "merchant",
            "scope_id": merchant_a.pk,
            "value": "72",
            "note": "大促延长处理时间",
        },
    )
    assert r.status_code == 302, r.content[:500]
    row = PolicyVersion.objects.get(key="returns.auto_approve_hours")
    assert row.value == 72 and row.created_by is not None

    mine, other = requested(merchant=merchant_a), requested()

    def due(request):
        return Deadline.objects.get(subject_id=request.pk, kind="returns.auto_approve")

    assert due(mine).due_at == mine.requested_at + timedelta(hours=72)
    assert due(mine).policy_version_id == row.pk
    assert due(other).due_at == other.requested_at + timedelta(hours=48)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("returns.auto_approve_hours", "24"),
        ("returns.close_unshipped_days", "10"),
        ("returns.express_refund_credit_threshold", "700"),
        ("returns.high_value_threshold", "8000"),
        ("returns.problem_quality_rate_percent", "8"),
    ],
)
@pytest.mark.parametrize("scope", ["platform", "category", "merchant"])
def test_return_policies_are_editable_at_every_scope(as_role, merchant_a, key, value, scope):
    from orders.tests.factories import CategoryFactory

    scope_id = {"platform": "", "category": CategoryFactory().pk, "merchant": merchant_a.pk}[scope]
    r = as_role("after_sales_manager").post(
        reverse("admin:aftersales_policyversion_add"),
        {"key": key, "scope": scope, "scope_id": scope_id, "value": value, "note": "t"},
    )
    assert r.status_code == 302, r.content.decode()[:800]
    assert PolicyVersion.objects.filter(key=key, scope=scope).count() == 1


def test_policy_form_refuses_a_scope_without_its_object(as_role):
    client = as_role("after_sales_manager")
    for scope, scope_id in (("merchant", ""), ("platform", "5"), ("merchant", "987654")):
        r = client.post(
            reverse("admin:aftersales_policyversion_add"),
            {"key": "returns.auto_approve_hours", "scope": scope, "scope_id": scope_id, "value": 5},
        )
        assert r.status_code == 200 and "errorlist" in r.content.decode(), (scope, scope_id)
    assert not PolicyVersion.objects.exists()


# -- analytics ------------------------------------------------------------------------------------


def test_admin_analytics_page_and_csv(as_role):
    request = requested()
    client = as_role("auditor")
    url = reverse("admin:returns_returnrequest_analytics")
    page = client.get(url).content.decode()
    assert request.line.sku.product.name in page and request.merchant.name in page
    assert "100.00%" in page
    export = client.get(url, {"export": "merchants"})
    assert export["Content-Type"].startswith("text/csv")
    text = export.content.decode("utf-8")
    assert text.startswith("\ufeff商家编号") and request.merchant.name in text
    bad = client.get(url, {"date_from": "2026-12-02", "date_to": "2026-12-01"})
    assert bad.status_code == 400
    assert ReturnRequest.objects.count() == 1


def test_platform_groups_rights_on_the_returns_models(roles):
    models = ("returnrequest", "arbitration", "refund", "expressrefundledgerentry")
    for model in models:
        for role in ("after_sales_agent", "after_sales_manager"):
            user = roles[role]
            assert user.has_perm(f"returns.view_{model}") and user.has_perm(
                f"returns.change_{model}"
            ), (role, model)
        for role in ("auditor", "mediator"):
            user = roles[role]
            assert user.has_perm(f"returns.view_{model}"), (role, model)
            assert not user.has_perm(f"returns.change_{model}"), (role, model)
        assert not any(roles[r].has_perm(f"returns.delete_{model}") for r in STAFF)


def test_refund_admin_retries_failed_parts_through_the_service(as_role):
    request = received(price="100.44")  # the sandbox gateway declines amounts ending in .44
    services.return_refund(request=request, actor=rf.merchant_actor(request.merchant))
    settle_refunds()
    refund = Refund.objects.get(request=request)
    assert refund.status == "failed"
    auditor = as_role("auditor")
    auditor.post(
        reverse("admin:returns_refund_changelist"),
        {"action": "retry_failed", "_selected_action": [refund.pk]},
    )
    refund.refresh_from_db()
    assert refund.retries == 0  # read only
    r = as_role("after_sales_agent").post(
        reverse("admin:returns_refund_changelist"),
        {"action": "retry_failed", "_selected_action": [refund.pk]},
    )
    assert r.status_code == 302
    refund.refresh_from_db()
    assert refund.status == "pending" and refund.retries == 1
    assert refund.parts.get().attempt == 2
    assert "return.refund_retried" in verbs(request)


def test_category_policy_applies_under_a_merchant_override(as_role, merchant_a):
    from orders.tests.factories import CategoryFactory

    fresh = CategoryFactory(code="policy-cat")
    client = as_role("after_sales_manager")
    for scope, scope_id, hours in (("category", fresh.pk, 24), ("merchant", merchant_a.pk, 96)):
        r = client.post(
            reverse("admin:aftersales_policyversion_add"),
            {
                "key": "returns.auto_approve_hours",
                "scope": scope,
                "scope_id": scope_id,
                "value": hours,
                "note": "t",
            },
        )
        assert r.status_code == 302

    def hours(request):
        due = Deadline.objects.get(subject_id=request.pk, kind="returns.auto_approve").due_at
        return (due - request.requested_at) / timedelta(hours=1)

    assert hours(requested(category=fresh)) == 24  # the category's
    assert hours(requested(category=fresh, merchant=merchant_a)) == 96  # the merchant's wins
    assert hours(requested()) == 48  # the platform default


def test_evidence_files_are_served_to_staff_in_scope_only(as_role, roles):
    from returns.models import ReturnEvidence

    case, other = in_arbitration(), in_arbitration()
    photo = ReturnEvidence.objects.filter(request=case, party="consumer").get()
    url = reverse("admin:returns_returnevidence_file", args=[photo.pk])
    review = as_role("auditor").get(
        reverse("admin:returns_arbitration_review", args=[case.arbitration.pk])
    )
    assert f'<img src="{url}"' in review.content.decode()
    response = as_role("auditor").get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"\xff\xd8\xff")
    assert "private" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
    assign_perm("returns.view_returnrequest", roles["mediator"], other)
    assert as_role("mediator").get(url).status_code == 404
