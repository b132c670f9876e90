"""G5 and G6 through the deadline engine: they fire at the boundary minute through
``aftersales.deadlines.engine.deadline_sweep``, open an escalation, publish ``repair.timeout``
and notify the consumer and the merchant; parts waits stop the G6 clock; reminders reach the
provider.

Received (送修) 2026-03-01 10:00 Shanghai: day 1 is 03-02; the 30th repairer day ends at
03-31 24:00, so G6 is due 04-01 00:00 Shanghai; the 90th day after 送修 ends 05-30 24:00.
"""

import pytest

from aftersales.casefile.models import DomainEvent
from aftersales.deadlines.engine import deadline_sweep
from aftersales.deadlines.models import Deadline
from aftersales.messaging.models import Notification
from aftersales.tenancy.actors import SYSTEM, actor_for_user
from aftersales.tests import factories as af
from repairs import deadlines, rules, selectors, services
from repairs.models import WarrantyEscalation
from repairs.tests.factories import (
    at,
    provider_with_staff,
    received_repair,
    sh,
    signed_card,
)

pytestmark = [pytest.mark.django_db, pytest.mark.backends]

RECEIVED = sh(2026, 3, 1, 10)


@pytest.fixture
def world(merchant_a):
    consumer = af.ConsumerFactory(user=af.UserFactory(username="d-consumer"))
    staff = af.MerchantMemberFactory(merchant=merchant_a, user=af.UserFactory(username="d-shop"))
    provider, (tech,) = provider_with_staff(staff=("d-tech",), codes=("lcd_tv", "mobile_phone"))
    return consumer, staff.user, provider, tech


def _repair(merchant, world, code="lcd_tv"):
    consumer, _shop, provider, tech = world
    with at(sh(2026, 2, 1, 10)):
        card = signed_card(merchant, consumer, signed_at=sh(2026, 2, 1, 9), code=code)
    return received_repair(
        card, provider, tech, reported_at=sh(2026, 2, 28, 10), received_at=RECEIVED
    )


def sweep(when):
    with at(when):
        return deadline_sweep()


def _deadline(repair, kind):
    return Deadline.objects.get(subject_type="repairs.repairorder", subject_id=repair.pk, kind=kind)


def test_g6_fires_at_the_first_minute_of_day_31(merchant_a, world):
    consumer, shop, _provider, _tech = world
    repair = _repair(merchant_a, world)
    assert _deadline(repair, deadlines.G6_KIND).due_at == sh(2026, 4, 1, 0, 0)
    sweep(sh(2026, 3, 31, 23, 59, 59))
    assert not WarrantyEscalation.objects.exists()
    ent = selectors.card_entitlements(card=repair.card, at=sh(2026, 3, 31, 23, 59, 59))
    assert "G6" not in ent.rules_for(rules.EXCHANGE)  # day 30: still the repairer's time

    sweep(sh(2026, 4, 1, 0, 0))
    escalation = WarrantyEscalation.objects.get()
    assert escalation.rule == "G6" and escalation.repair == repair
    assert escalation.cost_borne_by == "repairer" and escalation.status == "open"
    assert escalation.data["limit_passed_at"] == sh(2026, 4, 1, 0, 0).isoformat()
    event = DomainEvent.objects.get(name="repair.timeout")
    assert event.subject_id == repair.pk and event.payload["rule"] == "G6"
    assert Notification.objects.filter(user=consumer.user, event="repair.timeout").exists()
    assert Notification.objects.filter(user=shop, event="repair.timeout").exists()
    assert _deadline(repair, deadlines.G6_KIND).state == "done"
    ent = selectors.card_entitlements(card=repair.card, at=sh(2026, 4, 1, 0, 0))
    assert "G6" in ent.rules_for(rules.EXCHANGE)  # the same answer as the engine
    # exactly once: a later sweep adds nothing
    sweep(sh(2026, 4, 2))
    assert WarrantyEscalation.objects.count() == 1


def test_g6_reminder_reaches_the_provider_on_day_25(merchant_a, world):
    _consumer, _shop, _provider, tech = world
    repair = _repair(merchant_a, world)
    sweep(sh(2026, 3, 26, 23, 59))
    assert not Notification.objects.filter(user=tech, event="repair.limit_reminder").exists()
    sweep(sh(2026, 3, 27, 0, 0))  # five days before 04-01 00:00
    note = Notification.objects.get(user=tech, event="repair.limit_reminder")
    assert repair.number in note.title


def test_parts_wait_stops_the_g6_clock(merchant_a, world):
    _consumer, _shop, _provider, tech = world
    repair = _repair(merchant_a, world)
    technician = actor_for_user(tech)
    with at(sh(2026, 3, 5, 10)):
        services.repair_parts_wait_start(repair=repair, actor=technician, parts="背光板")
    assert _deadline(repair, deadlines.G6_KIND).state == "paused"
    sweep(sh(2026, 4, 5))  # past the unpaused due time: nothing while paused
    assert not WarrantyEscalation.objects.exists()
    with at(sh(2026, 3, 15, 10)):
        repair = services.repair_parts_wait_end(repair=repair, actor=technician)
    assert repair.parts_wait_days == 10 and repair.status == "repairing"
    g6 = Deadline.objects.get(
        subject_type="repairs.repairorder",
        subject_id=repair.pk,
        kind=deadlines.G6_KIND,
        state="pending",
    )
    assert g6.due_at == sh(2026, 4, 11, 0, 0)  # 30 repairer days + 10 waited
    sweep(sh(2026, 4, 10, 23, 59))
    assert not WarrantyEscalation.objects.exists()
    sweep(sh(2026, 4, 11, 0, 0))
    assert WarrantyEscalation.objects.get().rule == "G6"


def test_g5_parts_limit_day_90_and_91(merchant_a, world):
    _consumer, _shop, _provider, tech = world
    repair = _repair(merchant_a, world)
    with at(sh(2026, 3, 2, 10)):
        services.repair_parts_wait_start(repair=repair, actor=actor_for_user(tech))
    assert _deadline(repair, deadlines.G5_KIND).due_at == sh(2026, 5, 31, 0, 0)
    sweep(sh(2026, 5, 30, 23, 59))
    assert not WarrantyEscalation.objects.exists()  # day 90: still inside the limit
    sweep(sh(2026, 5, 31, 0, 0))
    escalation = WarrantyEscalation.objects.get()
    assert escalation.rule == "G5" and escalation.cost_borne_by == "seller"
    ent = selectors.card_entitlements(card=repair.card, at=sh(2026, 5, 31, 0, 0))
    assert "G5" in ent.rules_for(rules.EXCHANGE)


def test_g5_reminder_ten_days_before(merchant_a, world):
    _consumer, _shop, _provider, tech = world
    repair = _repair(merchant_a, world)
    with at(sh(2026, 3, 2, 10)):
        services.repair_parts_wait_start(repair=repair, actor=actor_for_user(tech))
    sweep(sh(2026, 5, 20, 23, 59))
    assert not Notification.objects.filter(user=tech, event="repair.limit_reminder").exists()
    sweep(sh(2026, 5, 21, 0, 0))
    assert Notification.objects.filter(user=tech, event="repair.limit_reminder").count() == 1


def test_mobile_phone_parts_limit_60_and_61(merchant_a, world):
    _consumer, _shop, _provider, tech = world
    repair = _repair(merchant_a, world, code="mobile_phone")
    with at(sh(2026, 3, 2, 10)):
        services.repair_parts_wait_start(repair=repair, actor=actor_for_user(tech))
    assert _deadline(repair, deadlines.G5_KIND).due_at == sh(2026, 5, 1, 0, 0)
    sweep(sh(2026, 4, 30, 23, 59))
    assert not WarrantyEscalation.objects.exists()
    sweep(sh(2026, 5, 1, 0, 0))
    assert WarrantyEscalation.objects.get().rule == "G5"


def test_finishing_the_repair_cancels_the_limits(merchant_a, world):
    _consumer, _shop, _provider, tech = world
    repair = _repair(merchant_a, world)
    with at(sh(2026, 3, 2, 10)):
        services.repair_parts_wait_start(repair=repair, actor=actor_for_user(tech))
    with at(sh(2026, 3, 20, 10)):
        services.repair_finish(repair=repair, actor=actor_for_user(tech), result="fixed")
    states = set(
        Deadline.objects.filter(subject_type="repairs.repairorder", subject_id=repair.pk)
        .exclude(kind__endswith=".reminder")
        .values_list("state", flat=True)
    )
    assert states == {"cancelled"}
    sweep(sh(2026, 7, 1))
    assert not WarrantyEscalation.objects.exists()


@pytest.mark.parametrize("vendor", ["postgresql", "sqlite"])
def test_one_escalation_when_both_limits_pass(merchant_a, world, monkeypatch, vendor):
    """G6 fires first (no wait long enough), then G5 on the same repair adds no second case.
    On each backend: the batch's raw lock-and-read query (PostgreSQL) or its ORM fallback."""
    from django.db import connection

    if vendor == "postgresql" and connection.vendor != "postgresql":
        pytest.skip("the raw batch query needs PostgreSQL")
    monkeypatch.setattr(connection, "vendor", vendor)
    consumer, _shop, _provider, tech = world
    repair = _repair(merchant_a, world)
    technician = actor_for_user(tech)
    with at(sh(2026, 3, 2, 10)):
        services.repair_parts_wait_start(repair=repair, actor=technician)
    with at(sh(2026, 3, 3, 10)):
        services.repair_parts_wait_end(repair=repair, actor=technician)
    sweep(sh(2026, 4, 2, 0, 0))
    escalation = WarrantyEscalation.objects.get()
    assert (escalation.rule, escalation.repair_id, escalation.consumer_id) == (
        "G6",
        repair.pk,
        consumer.pk,
    )
    assert Notification.objects.filter(user=consumer.user, event="repair.timeout").count() == 1
    sweep(sh(2026, 5, 31, 0, 0))
    assert WarrantyEscalation.objects.count() == 1
    assert _deadline(repair, deadlines.G5_KIND).state == "done"


def test_escalation_resolved_by_staff(merchant_a, world, roles):
    repair = _repair(merchant_a, world)
    sweep(sh(2026, 4, 1))
    escalation = WarrantyEscalation.objects.get()
    agent = actor_for_user(roles["after_sales_agent"])
    with at(sh(2026, 4, 2)):
        services.escalation_resolve(escalation=escalation, actor=agent, resolution="exchange")
    escalation.refresh_from_db()
    assert escalation.status == "resolved" and escalation.resolved_by == roles["after_sales_agent"]
    assert not selectors.escalation_queue(actor=SYSTEM, filters={"status": "open"}).exists()
    assert repair.pk == escalation.repair_id


def test_timeout_notifications_follow_each_users_channels(merchant_a, world):
    """The batch writes the same inbox and delivery rows as ``notify``: in-app sent, email and
    SMS pending for the sender sweep, on the channels each user chose."""
    from aftersales.messaging.models import NotificationDelivery, NotificationPreference

    consumer, shop, _provider, _tech = world
    consumer.user.email = "buyer@example.com"
    consumer.user.save()
    NotificationPreference.objects.create(user=consumer.user, email_enabled=True, sms_enabled=True)
    NotificationPreference.objects.create(user=shop, email_enabled=False)
    repair = _repair(merchant_a, world)
    sweep(sh(2026, 4, 1, 0, 0))
    mine = Notification.objects.get(user=consumer.user, event="repair.timeout")
    channels = dict(
        NotificationDelivery.objects.filter(notification=mine).values_list("channel", "status")
    )
    assert channels == {"in_app": "sent", "email": "pending", "sms": "pending"}
    sms = NotificationDelivery.objects.get(notification=mine, channel="sms")
    assert sms.recipient == "138******78"
    assert mine.subject_id == repair.pk and repair.number in mine.body
    digest = Notification.objects.get(user=shop, event="repair.timeout")
    assert repair.number in digest.body
    assert set(
        NotificationDelivery.objects.filter(notification=digest).values_list("channel", flat=True)
    ) == {"in_app"}


# -- G13: a paid repair is not a 三包 repair ----------------------------------------------------


def test_g13_repair_found_paid_at_diagnosis_is_never_escalated(merchant_a, world):
    _consumer, _shop, _provider, tech = world
    repair = _repair(merchant_a, world)
    with at(sh(2026, 3, 2, 10)):
        services.repair_diagnose(
            repair=repair, actor=actor_for_user(tech), diagnosis="进水", paid_reason="misuse"
        )
    assert _deadline(repair, deadlines.G6_KIND).state == "cancelled"
    sweep(sh(2026, 4, 1, 0, 0))
    sweep(sh(2026, 6, 1, 0, 0))
    assert not WarrantyEscalation.objects.exists()


def test_g13_out_of_period_repair_gets_no_limits(merchant_a, world):
    consumer, _shop, provider, tech = world
    with at(sh(2022, 1, 1, 10)):  # LCD TV: main parts covered 3 years, until 2025-01-01
        card = signed_card(merchant_a, consumer, signed_at=sh(2022, 1, 1, 9))
    repair = received_repair(
        card, provider, tech, reported_at=sh(2026, 2, 28, 10), received_at=RECEIVED
    )
    assert (repair.is_paid, repair.paid_reason) == (True, "out_of_period")
    assert not Deadline.objects.filter(
        subject_type="repairs.repairorder", subject_id=repair.pk, state="pending"
    ).exists()
    sweep(sh(2026, 4, 1, 0, 0))
    assert not WarrantyEscalation.objects.exists()


@pytest.mark.parametrize("vendor", ["postgresql", "sqlite"])
def test_g13_sweep_rechecks_paid_before_escalating(merchant_a, world, monkeypatch, vendor):
    """A limit still pending on a repair that became paid (say, marked so by staff in the
    console) fires without an escalation, on both paths of the batch's read."""
    from django.db import connection

    from repairs.models import RepairOrder

    if vendor == "postgresql" and connection.vendor != "postgresql":
        pytest.skip("the raw batch query needs PostgreSQL")
    monkeypatch.setattr(connection, "vendor", vendor)
    repair = _repair(merchant_a, world)
    RepairOrder.objects.filter(pk=repair.pk).update(is_paid=True, paid_reason="misuse")
    sweep(sh(2026, 4, 1, 0, 0))
    assert _deadline(repair, deadlines.G6_KIND).state == "done"
    assert not WarrantyEscalation.objects.exists()
    assert not DomainEvent.objects.filter(name="repair.timeout").exists()
