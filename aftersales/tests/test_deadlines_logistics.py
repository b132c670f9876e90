"""Logistics alert (standard 6.2.1.2) on the deadline engine, and the deadlines API."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from aftersales.casefile.models import TimelineEvent
from aftersales.deadlines import engine, registry
from aftersales.deadlines.models import Deadline
from aftersales.policies import policy_set
from aftersales.tenancy.actors import SYSTEM
from aftersales.tenancy.models import ConsumerProfile, Merchant
from orders import logistics  # noqa: F401 - registers the handler
from orders import services as order_services
from orders.models import LogisticsAlert
from orders.tests.factories_pages import page_order

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@pytest.fixture
def frozen():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def shipment(roles, merchant_a, frozen):
    consumer = ConsumerProfile.objects.get(user=roles["consumer_a"])
    order = page_order(consumer=consumer, merchant=merchant_a)
    return order_services.shipment_create(
        line=order.lines.get(), carrier="顺丰速运", tracking_number="SF100", actor=SYSTEM
    )


def track(shipment, kind, at):
    order_services.tracking_event_record(
        shipment=shipment, kind=kind, occurred_at=at, actor=SYSTEM, location="杭州"
    )


def stale():
    return Deadline.objects.filter(kind="logistics.stale")


def test_no_update_for_72_hours_raises_alert(shipment, frozen):
    track(shipment, "picked_up", T0)
    [row] = stale()
    assert row.due_at == T0 + timedelta(hours=72)
    assert row.policy_key == "logistics.stale_tracking_hours"
    frozen.move_to(T0 + timedelta(hours=30))
    track(shipment, "in_transit", T0 + timedelta(hours=30))
    row.refresh_from_db()
    assert row.due_at == T0 + timedelta(hours=102)  # rescheduled from the newest node
    frozen.move_to(T0 + timedelta(hours=101))
    assert engine.deadline_sweep().done == 0
    assert not LogisticsAlert.objects.exists()
    frozen.move_to(T0 + timedelta(hours=102))
    assert engine.deadline_sweep().done == 1
    alert = LogisticsAlert.objects.get()
    assert (alert.reason, alert.status, alert.shipment_id) == ("stale", "open", shipment.pk)
    assert alert.consumer.user.username == "consumer-a"
    assert (
        TimelineEvent.objects.filter(
            subject_type="orders.order", subject_id=shipment.order_id, verb="logistics.alert"
        ).count()
        == 1
    )


def test_signed_cancels_the_deadline(shipment, frozen):
    track(shipment, "picked_up", T0)
    frozen.move_to(T0 + timedelta(hours=20))
    track(shipment, "signed", T0 + timedelta(hours=20))
    assert stale().get().state == "cancelled"
    frozen.move_to(T0 + timedelta(days=10))
    engine.deadline_sweep()
    assert not LogisticsAlert.objects.exists()


def test_exception_raises_alert_at_once(shipment, frozen):
    frozen.move_to(T0 + timedelta(hours=2))
    track(shipment, "picked_up", T0)
    track(shipment, "exception", T0 + timedelta(hours=1))
    track(shipment, "exception", T0 + timedelta(hours=2))
    alert = LogisticsAlert.objects.get()  # one open alert per reason
    assert alert.reason == "exception"
    notification = pytest.importorskip("aftersales.messaging.notifications")
    from aftersales.messaging.models import Notification

    assert notification.notify
    sent = Notification.objects.filter(event="logistics.alert")
    assert sorted(sent.values_list("user__username", flat=True)) == ["consumer-a", "staff-a"]
    assert "物流异常" in sent.first().title


def test_policy_changes_the_hours(shipment, merchant_a):
    policy_set(
        key="logistics.stale_tracking_hours",
        value=24,
        actor=SYSTEM,
        scope="merchant",
        scope_id=merchant_a.pk,
    )
    track(shipment, "picked_up", T0)
    assert stale().get().due_at == T0 + timedelta(hours=24)


def test_alert_visible_by_role(api, shipment, frozen):
    track(shipment, "exception", T0)
    url = "/api/v1/logistics-alerts/"
    for who, n in [
        ("consumer_a", 1),
        ("merchant_a", 1),
        ("after_sales_agent", 1),
        ("platform_key", 1),
        ("consumer_b", 0),
        ("merchant_b", 0),
    ]:
        res = api(who).get(url)
        assert res.status_code == 200
        assert len(res.json()["results"]) == n, who
    alert = LogisticsAlert.objects.get()
    assert api("merchant_b").get(f"{url}{alert.pk}/").status_code == 404


def test_deadlines_api_filters(
    api, roles, merchant_a, merchant_b, frozen, django_assert_max_num_queries
):
    registry.deadline_register("test.api", lambda d: None, "测试")
    shops = [Merchant.objects.create(code=f"api{i}", name=str(i)) for i in range(4)]
    engine.deadline_schedule(
        subject=shops[0],
        kind="test.api",
        due_at=T0 - timedelta(hours=1),
        actor=SYSTEM,
        merchant_id=merchant_a.pk,
    )
    engine.deadline_schedule(
        subject=shops[1],
        kind="test.api",
        due_at=T0 + timedelta(hours=2),
        actor=SYSTEM,
        merchant_id=merchant_a.pk,
    )
    engine.deadline_schedule(
        subject=shops[2],
        kind="test.api",
        due_at=T0 + timedelta(hours=30),
        actor=SYSTEM,
        merchant_id=merchant_b.pk,
    )
    client = api("after_sales_manager")
    with django_assert_max_num_queries(6):
        res = client.get("/api/v1/deadlines/")
    rows = res.json()["results"]
    assert [r["subject_id"] for r in rows] == [shops[0].pk, shops[1].pk, shops[2].pk]
    assert rows[0]["overdue"] is True and rows[0]["description"] == "测试"

    def ids(query):
        res = client.get(f"/api/v1/deadlines/?{query}")
        return [r["subject_id"] for r in res.json()["results"]]

    assert ids("overdue=true") == [shops[0].pk]
    assert ids("due_within_hours=3") == [shops[1].pk]
    assert ids(f"merchant={merchant_b.pk}") == [shops[2].pk]
    assert ids("kind=other") == []
    assert ids("state=done") == []
    assert client.get("/api/v1/deadlines/?state=bogus").status_code == 400
    # Merchant staff see their merchant's deadlines only; consumers none.
    merchant_rows = api("merchant_a").get("/api/v1/deadlines/").json()["results"]
    assert [r["subject_id"] for r in merchant_rows] == [shops[0].pk, shops[1].pk]
    assert api("consumer_a").get("/api/v1/deadlines/").json()["results"] == []


def test_handler_rechecks_the_shipment(shipment, frozen):
    # A sign-off that raced the sweep (its cancel skipped the row the sweep held).
    from orders.models import Shipment

    track(shipment, "picked_up", T0)
    Shipment.objects.filter(pk=shipment.pk).update(status="signed")
    frozen.move_to(T0 + timedelta(hours=73))
    assert engine.deadline_sweep().done == 1
    assert stale().get().result == {"skipped": "signed"}
    assert not LogisticsAlert.objects.exists()


@pytest.mark.parametrize("value", ["abc", "nan", "inf", "1e20"])
def test_deadlines_api_bad_due_within_hours_is_400(api, roles, value):
    res = api("after_sales_manager").get(f"/api/v1/deadlines/?due_within_hours={value}")
    assert res.status_code == 400
    assert res.json()["code"] == "filter_invalid"


def test_late_movement_after_sign_off_schedules_nothing(shipment, frozen):
    """Carriers push out of order: a transit node that arrives after the parcel was signed
    for must not show a pending 72 h alert on the case."""
    track(shipment, "picked_up", T0)
    frozen.move_to(T0 + timedelta(hours=20))
    track(shipment, "signed", T0 + timedelta(hours=20))
    track(shipment, "in_transit", T0 + timedelta(hours=10))
    assert not stale().filter(state__in=["pending", "paused"]).exists()
    assert engine.deadlines_for(shipment) == []


def test_order_detail_api_shows_pending_deadlines_to_each_party(api, shipment, frozen):
    """Issue 3: every case shows its pending deadlines, with due time and what happens then."""
    track(shipment, "picked_up", T0)
    due = T0 + timedelta(hours=72)
    for who in ("consumer_a", "merchant_a", "merchant_key_a", "after_sales_agent"):
        body = api(who).get(f"/api/v1/orders/{shipment.order_id}/").json()
        [row] = body["deadlines"]
        assert row["kind"] == "logistics.stale"
        assert datetime.fromisoformat(row["due_at"]) == due
        assert row["description"] and row["overdue"] is False
    frozen.move_to(T0 + timedelta(hours=6))
    track(shipment, "signed", T0 + timedelta(hours=5))
    assert api("consumer_a").get(f"/api/v1/orders/{shipment.order_id}/").json()["deadlines"] == []


def _resolved_on_order(shipment):
    return TimelineEvent.objects.filter(
        subject_type="orders.order",
        subject_id=shipment.order_id,
        verb="logistics.alert_resolved",
    )


def test_scans_resuming_resolve_the_stale_alert_and_a_later_stall_raises_a_new_one(
    shipment, frozen
):
    track(shipment, "picked_up", T0)
    frozen.move_to(T0 + timedelta(hours=72))
    assert engine.deadline_sweep().done == 1
    first = LogisticsAlert.objects.get()
    assert first.status == "open"

    frozen.move_to(T0 + timedelta(hours=80))
    track(shipment, "in_transit", T0 + timedelta(hours=80))
    first.refresh_from_db()
    assert first.status == "resolved" and first.resolved_at == T0 + timedelta(hours=80)
    [event] = _resolved_on_order(shipment)
    assert event.actor_kind == "system"
    assert "恢复" in event.reason
    assert event.data["alert_id"] == first.pk

    # Stalls again: a new alert, raised and announced like the first.
    frozen.move_to(T0 + timedelta(hours=152))
    assert engine.deadline_sweep().done == 1
    second = LogisticsAlert.objects.get(status="open")
    assert second.pk != first.pk and second.reason == "stale"
    assert (
        TimelineEvent.objects.filter(
            subject_type="orders.order", subject_id=shipment.order_id, verb="logistics.alert"
        ).count()
        == 2
    )
    pytest.importorskip("aftersales.messaging.notifications")
    from aftersales.messaging.models import Notification

    sent = Notification.objects.filter(event="logistics.alert")
    # Both parties are told of each stall: consumer and merchant staff, twice.
    assert sorted(sent.values_list("user__username", flat=True)) == [
        "consumer-a",
        "consumer-a",
        "staff-a",
        "staff-a",
    ]


def test_late_node_from_before_the_stall_keeps_the_alert_open(shipment, frozen):
    track(shipment, "picked_up", T0)
    frozen.move_to(T0 + timedelta(hours=72))
    engine.deadline_sweep()
    # A delayed feed delivers an older node: no evidence that the parcel moves again.
    track(shipment, "in_transit", T0 - timedelta(minutes=1))
    assert LogisticsAlert.objects.get().status == "open"
    assert not _resolved_on_order(shipment).exists()


def test_movement_keeps_an_exception_alert_open_and_signed_resolves_all(shipment, frozen):
    track(shipment, "picked_up", T0)
    frozen.move_to(T0 + timedelta(hours=72))
    engine.deadline_sweep()  # stale alert
    frozen.move_to(T0 + timedelta(hours=73))
    track(shipment, "exception", T0 + timedelta(hours=73))
    frozen.move_to(T0 + timedelta(hours=74))
    track(shipment, "out_for_delivery", T0 + timedelta(hours=74))
    status = dict(LogisticsAlert.objects.values_list("reason", "status"))
    assert status == {"stale": "resolved", "exception": "open"}
    frozen.move_to(T0 + timedelta(hours=75))
    track(shipment, "signed", T0 + timedelta(hours=75))
    assert set(LogisticsAlert.objects.values_list("status", flat=True)) == {"resolved"}
    reasons = list(_resolved_on_order(shipment).order_by("pk").values_list("reason", flat=True))
    assert len(reasons) == 2 and "签收" in reasons[1]
