"""Deadlines of repair orders (G5, G6) through the kernel's engine (ARCHITECTURE.md "Deadlines").

Kinds (with their reminders ``<kind>.reminder``):

- ``repairs.g6_repairer_limit``: due when the days attributable to the repairer (since 送修,
  minus days waiting for manufacturer parts) exceed 30 — 24:00 Shanghai of day 30 + waited days
  after 送修 (G6, art. 12). Scheduled on entering ``received``; paused while parts are awaited
  (``repair_parts_wait_start``) and rescheduled from the waited days when the wait ends; its
  reminder tells the provider at day 25 (5 days before).
- ``repairs.g5_parts_limit``: due at 24:00 Shanghai of day 90 after 送修 (the catalog's
  parts-shortage limit; mobile phones 60) once the repair has waited for parts (G5, art. 12);
  its reminder tells the provider 10 days before.

Both are cancelled when the repair ends (fixed, not fixed, closed, cancelled) and when it is or
becomes a paid repair (G11, or outside the 三包 period): a paid repair is not a 三包 repair and
is never escalated (G13; the sweep re-checks it too).

When a limit passes with the repair not finished, the consumer is granted a free exchange: an
open ``WarrantyEscalation`` (the platform's queue), a ``repair.timeout`` domain event (webhooks),
a timeline event, a notification to the consumer and one per batch to each of the merchant's
staff (listing their repairs).

The sweep must act on thousands of repairs a second, so the work is done per sweep batch, not
per row: the registered handlers only mark the row, and ``on_deadlines_fired`` (a ``many``
subscriber of the sweep's ``deadline.fired`` events, subscribed in ``repairs/events.py``, run in
the same transaction as the rows' move to ``done``) locks the batch's repairs in pk order with
one query, re-checks each against ``repairs.rules`` and writes escalations, timeline, events and
notifications in bulk.
"""

from datetime import timedelta
from types import SimpleNamespace

from django.db import connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales import clock
from aftersales.bulk import actor_columns, insert_rows, instances
from aftersales.casefile.events import events_dispatch
from aftersales.casefile.models import DomainEvent, TimelineEvent
from aftersales.deadlines.engine import (
    Cancels,
    Schedules,
    SubjectRef,
    deadline_cancel,
    deadline_schedule,
    deadline_status_rules,
)
from aftersales.deadlines.models import Deadline
from aftersales.deadlines.registry import REMINDER_SUFFIX, deadline_register
from aftersales.deadlines.rules import window_closes_at
from aftersales.messaging.notifications import notify_many
from aftersales.tenancy.actors import SYSTEM
from aftersales.tenancy.models import ConsumerProfile, MerchantMember

from . import citations, rules
from .models import RepairOrder, RepairProviderMember, WarrantyEscalation

G6_KIND = "repairs.g6_repairer_limit"
G5_KIND = "repairs.g5_parts_limit"
G6_REMINDER = G6_KIND + REMINDER_SUFFIX
G5_REMINDER = G5_KIND + REMINDER_SUFFIX
G6_REMIND_AT_DAY = 25  # issue 5: reminder to the provider at day 25
G5_REMIND_DAYS_BEFORE = 10  # issue 5: and 10 days before the parts limit
KINDS = (G6_KIND, G5_KIND)
REMINDER_KINDS = (G6_REMINDER, G5_REMINDER)
RULE_OF_KIND = {G6_KIND: "G6", G5_KIND: "G5"}


# -- due times ------------------------------------------------------------------------------------


def g6_due(repair):
    """When the repairer-attributable days exceed 30 (G6): 24:00 Shanghai of day
    30 + closed parts-wait days after 送修."""
    return window_closes_at(repair.received_at, rules.REPAIRER_DAYS + repair.parts_wait_days)


def g6_reminders(repair):
    return [timedelta(days=rules.REPAIRER_DAYS - G6_REMIND_AT_DAY)]


def parts_limit_days(repair):
    """The catalog's parts-shortage limit of the repair's card (G5: 90 days; mobile phones 60),
    from the catalog version in force at sale."""
    card = repair.card
    snapshot = card.catalog_change.snapshot if card.catalog_change_id else None
    if snapshot and snapshot.get("parts_shortage_limit_days"):
        return int(snapshot["parts_shortage_limit_days"])
    return card.catalog_entry.parts_shortage_limit_days


def g5_due(repair, limit_days=None):
    """24:00 Shanghai of day ``limit`` after 送修 (G5)."""
    return window_closes_at(repair.received_at, limit_days or parts_limit_days(repair))


def _rule_table():
    ended = [Cancels(G6_KIND), Cancels(G5_KIND)]
    return {
        "received": [Schedules(G6_KIND, due=lambda r: (g6_due(r), None), reminders=g6_reminders)],
        "fixed": ended,
        "not_fixed": ended,
        "closed": ended,
        "cancelled": ended,
    }


deadline_status_rules(RepairOrder, _rule_table())


def open_deadline(repair, kind):
    """The repair's open (pending or paused) deadline of ``kind``, or ``None``."""
    return (
        Deadline.objects.filter(
            subject_type=RepairOrder._meta.label_lower,
            subject_id=repair.pk,
            kind=kind,
            state__in=(Deadline.State.PENDING, Deadline.State.PAUSED),
        )
        .order_by("pk")
        .first()
    )


def ever_scheduled(repair, kind):
    return Deadline.objects.filter(
        subject_type=RepairOrder._meta.label_lower, subject_id=repair.pk, kind=kind
    ).exists()


def g6_reschedule(repair, *, actor):
    """After a parts wait ends: G6 is due again from the waited days (never if it already
    fired)."""
    if open_deadline(repair, G6_KIND) is None:
        return None
    return deadline_schedule(
        subject=repair,
        kind=G6_KIND,
        due_at=g6_due(repair),
        actor=actor,
        reminders=g6_reminders(repair),
        data={"parts_wait_days": repair.parts_wait_days},
    )


def g5_schedule_once(repair, *, actor):
    """On the first parts wait: the G5 limit from 送修 (once per repair; never for a paid
    repair, G13)."""
    if repair.is_paid or ever_scheduled(repair, G5_KIND):
        return None
    limit = parts_limit_days(repair)
    return deadline_schedule(
        subject=repair,
        kind=G5_KIND,
        due_at=g5_due(repair, limit),
        actor=actor,
        reminders=[timedelta(days=G5_REMIND_DAYS_BEFORE)],
        data={"limit_days": limit},
    )


def sanbao_limits_cancel(repair, *, actor, reason):
    """A paid repair (G11, or outside the 三包 period) is not a 三包 repair: G5/G6 never
    escalate it (G13), so its limits are cancelled."""
    for kind in KINDS:
        deadline_cancel(subject=repair, kind=kind, actor=actor, reason=reason)


# -- handlers -------------------------------------------------------------------------------------


def _batched(deadline):
    """The row's work is done for the whole sweep batch by ``on_deadlines_fired``; the result
    carries what the batch needs from the row (the G5 limit in days)."""
    return {"batched": True, **(deadline.data or {})}


deadline_register(
    G6_KIND,
    _batched,
    gettext_lazy("修理者责任时间超过 30 日仍未修好，消费者可免费换货，转平台升级处理"),
)
deadline_register(
    G5_KIND,
    _batched,
    gettext_lazy("送修后超过缺件期限仍因缺少配件未修好，由销售者免费换货，转平台升级处理"),
)
deadline_register(G6_REMINDER, _batched, gettext_lazy("提醒维修服务商：修理者责任时间已到第 25 日"))
deadline_register(G5_REMINDER, _batched, gettext_lazy("提醒维修服务商：距缺件换货期限还有 10 日"))


def _facts(repair):
    return rules.RepairFacts(
        received_at=repair.received_at,
        finished_at=repair.finished_at,
        parts_wait_days=repair.parts_wait_days,
        parts_wait_since=repair.parts_wait_since,
    )


def limit_passed(repair, kind, now, limit_days):
    """Whether the limit of ``kind`` has passed for ``repair`` at ``now`` (re-checked from the
    rules when the deadline fires), and the instant it passed."""
    if repair.received_at is None or repair.status not in RepairOrder.AT_REPAIRER_STATUSES:
        return False, None
    facts = _facts(repair)
    if kind == G6_KIND:
        waited = rules.parts_wait_days(facts, now)
        passed = rules.repairer_days(facts, now) > rules.REPAIRER_DAYS
        return passed, window_closes_at(repair.received_at, rules.REPAIRER_DAYS + waited)
    limit_at = window_closes_at(repair.received_at, limit_days)
    return rules.parts_wait_days(facts, now) > 0 and now >= limit_at, limit_at


# What the batch reads of each repair: no encrypted consumer columns, no catalog snapshots.
SWEEP_FIELDS = (
    "id",
    "number",
    "card_id",
    "merchant_id",
    "consumer_id",
    "provider_id",
    "status",
    "received_at",
    "finished_at",
    "parts_wait_days",
    "parts_wait_since",
    "is_paid",
    "consumer__user_id",
)


class SweptRepair:
    """A repair as the sweep batch reads it (``SWEEP_FIELDS``, the consumer's user, whether its
    card already has an open G5/G6 escalation): a plain record, not a model instance, with what
    ``limit_passed``, the texts and the notifications use (``pk``, ``_meta`` as a subject)."""

    # The columns of SWEEP_FIELDS in their order (``consumer__user_id`` → ``consumer_user_id``),
    # then the flag the batch's query adds.
    __slots__ = (*(name.replace("__", "_") for name in SWEEP_FIELDS), "open_escalation")
    _meta = RepairOrder._meta

    def __init__(self, values):
        for name, value in zip(self.__slots__, values, strict=True):
            setattr(self, name, value)

    @property
    def pk(self):
        return self.id


def _lock_repairs(ids):
    """The batch's repairs locked in pk order (``FOR UPDATE OF`` the repair only), by id, with
    one query: the fields the batch reads, the consumer's user and the open-escalation flag."""
    statuses = [WarrantyEscalation.Status.OPEN]
    if connection.vendor == "postgresql":
        qn = connection.ops.quote_name
        columns = ", ".join(
            f"r.{qn(RepairOrder._meta.get_field(f).column)}" for f in SWEEP_FIELDS[:-1]
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {columns}, c.user_id, EXISTS (SELECT 1 FROM "
                f"{qn(WarrantyEscalation._meta.db_table)} e WHERE e.card_id = r.card_id "
                f"AND e.status = ANY(%s::text[]) AND e.rule = ANY(%s::text[])) "
                f"FROM {qn(RepairOrder._meta.db_table)} r "
                f"JOIN {qn(ConsumerProfile._meta.db_table)} c ON c.id = r.consumer_id "
                f"WHERE r.id = ANY(%s::bigint[]) ORDER BY r.id FOR UPDATE OF r",
                [statuses, list(RULE_OF_KIND.values()), ids],
            )
            return {row[0]: SweptRepair(row) for row in cursor.fetchall()}
    rows = list(
        RepairOrder.objects.select_for_update(of=("self",))
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list(*SWEEP_FIELDS)
    )
    open_cards = set(
        WarrantyEscalation.objects.filter(
            card_id__in={row[2] for row in rows},
            status__in=statuses,
            rule__in=list(RULE_OF_KIND.values()),
        ).values_list("card_id", flat=True)
    )
    return {row[0]: SweptRepair((*row, row[2] in open_cards)) for row in rows}


def on_deadline_fired(event):
    on_deadlines_fired([event])


def on_deadlines_fired(events):
    """Act on the repairs deadlines of one sweep batch (see the module docstring)."""
    ours = [
        e
        for e in events
        if e.subject_type == "repairs.repairorder"
        and (e.payload or {}).get("kind") in KINDS + REMINDER_KINDS
    ]
    if not ours:
        return
    now = clock.now()
    repairs = _lock_repairs(sorted({e.subject_id for e in ours}))
    found = [(e, repairs[e.subject_id]) for e in ours if e.subject_id in repairs]
    _timeouts([(e, r) for e, r in found if e.payload["kind"] in KINDS], now)
    _reminders([(e, r) for e, r in found if e.payload["kind"] in REMINDER_KINDS], now)


on_deadline_fired.many = on_deadlines_fired


def _timeouts(pairs, now):
    if not pairs:
        return
    open_cards = {r.card_id for _, r in pairs if r.open_escalation}
    escalations, late, repairs_of = [], [], {}
    for event, repair in pairs:
        kind = event.payload["kind"]
        result = event.payload.get("result") or {}
        limit = result.get("limit_days") or rules.DEFAULT_PARTS_LIMIT_DAYS
        if repair.is_paid:
            continue  # G13: a paid repair is never escalated under G5/G6
        passed, passed_at = limit_passed(repair, kind, now, limit)
        if not passed:
            if repair.status in RepairOrder.AT_REPAIRER_STATUSES:
                late.append((repair, kind, limit))
            continue
        if repair.card_id in open_cards:
            continue
        open_cards.add(repair.card_id)
        rule = RULE_OF_KIND[kind]
        escalations.append(
            {
                "card_id": repair.card_id,
                "repair_id": repair.pk,
                "merchant_id": repair.merchant_id,
                "consumer_id": repair.consumer_id,
                "rule": rule,
                "granted_remedies": [rules.EXCHANGE, rules.RETURN],
                "cost_borne_by": "repairer" if rule == "G6" else "seller",
                "explanation": timeout_text(repair, rule),
                "data": {
                    "deadline_id": event.payload.get("deadline_id"),
                    "received_at": repair.received_at.isoformat(),
                    "limit_passed_at": passed_at.isoformat(),
                    "parts_wait_days": repair.parts_wait_days,
                },
                "status": WarrantyEscalation.Status.OPEN,
                "raised_at": now,
            }
        )
        repairs_of[repair.pk] = repair
    for repair, kind, limit in late:
        # The due time was computed from older facts (a wait recorded late): try again then.
        _reschedule_late(repair, kind, limit)
    if not escalations:
        return
    # Plain rows in one statement per table (``aftersales.bulk``): this runs for every repair
    # whose limit passed, thousands per sweep.
    ids = insert_rows(WarrantyEscalation, escalations, returning=True)
    escalations = [
        SimpleNamespace(pk=pk, repair=repairs_of[row["repair_id"]], **row)
        for pk, row in zip(ids, escalations, strict=True)
    ]
    actor = actor_columns(SYSTEM)
    insert_rows(
        TimelineEvent,
        [
            {
                "subject_type": "repairs.repairorder",
                "subject_id": esc.repair_id,
                "merchant_id": esc.merchant_id,
                "verb": "repair.timeout",
                "reason": esc.explanation,
                "data": {"escalation_id": esc.pk, "rule": esc.rule, **esc.data},
                "occurred_at": now,
                **actor,
            }
            for esc in escalations
        ],
    )
    events = [
        {
            "name": "repair.timeout",
            "subject_type": "repairs.repairorder",
            "subject_id": esc.repair_id,
            "merchant_id": esc.merchant_id,
            "payload": {
                "repair_id": esc.repair_id,
                "repair_number": esc.repair.number,
                "card_id": esc.card_id,
                "escalation_id": esc.pk,
                "rule": esc.rule,
                "granted_remedies": esc.granted_remedies,
                **esc.data,
            },
            "occurred_at": now,
        }
        for esc in escalations
    ]
    ids = insert_rows(DomainEvent, events, returning=True)
    events_dispatch(instances(DomainEvent, ids, events))
    _notify_timeouts(escalations)


def timeout_text(repair, rule):
    """The escalation's explanation of a passed G6 or G5 limit (the law by name, not codes:
    the consumer reads it)."""
    if rule == "G6":
        return _(
            "维修单 %(number)s 修理者责任时间已超过 %(days)s 日仍未修好，"
            "您可以选择免费换货（费用由修理者承担），或按规定折旧退货（%(law)s）。"
        ) % {
            "number": repair.number,
            "days": rules.REPAIRER_DAYS,
            "law": citations.citation("G6、G8"),
        }
    return _(
        "维修单 %(number)s 送修后超过缺件期限仍因缺少配件未修好，"
        "您可以选择由销售者免费换货，或按规定折旧退货（%(law)s）。"
    ) % {"number": repair.number, "law": citations.citation("G5、G8")}


def _merchant_staff(merchant_ids):
    staff = {}
    for merchant_id, user_id in MerchantMember.objects.filter(
        merchant_id__in=merchant_ids
    ).values_list("merchant_id", "user_id"):
        staff.setdefault(merchant_id, []).append(user_id)
    return staff


def _notify_timeouts(escalations):
    """The consumer of each repair; the merchant's staff once per batch with the list of their
    repairs (a digest: a sweep after an outage may pass hundreds of a shop's limits at once)."""
    messages = []
    by_merchant = {}
    for esc in escalations:
        repair = esc.repair
        context = {
            "repair_id": repair.pk,
            "repair_number": repair.number,
            "escalation_id": esc.pk,
            "rule": esc.rule,
            "explanation": esc.explanation,
            "audience": "consumer",
        }
        messages.append((repair.consumer_user_id, "repair.timeout", context, repair))
        by_merchant.setdefault(esc.merchant_id, []).append(esc)
    staff = _merchant_staff(by_merchant)
    for merchant_id, cases in by_merchant.items():
        context = {
            "repair_ids": [e.repair_id for e in cases],
            "escalation_ids": [e.pk for e in cases],
            "repair_numbers": [e.repair.number for e in cases[:20]],
            "count": len(cases),
            "more": len(cases) > 20,
            "audience": "merchant",
        }
        if len(cases) == 1:
            context |= {"repair_id": cases[0].repair_id, "repair_number": cases[0].repair.number}
        subject = (
            cases[0].repair
            if len(cases) == 1
            else SubjectRef("aftersales.merchant", merchant_id, merchant_id)
        )
        for user_id in staff.get(merchant_id, ()):
            messages.append((user_id, "repair.timeout", context, subject))
    notify_many(messages=messages, actor=SYSTEM)


def _reschedule_late(swept, kind, limit):
    due = g6_due(swept) if kind == G6_KIND else g5_due(swept, limit)
    if swept.parts_wait_since is not None or due <= clock.now():
        return  # paused by the open wait (G6), or nothing left to wait for
    repair = RepairOrder.objects.get(pk=swept.pk)  # rare: the case itself (locked already)
    with transaction.atomic():
        deadline_schedule(subject=repair, kind=kind, due_at=due, actor=SYSTEM)


def _provider_staff(provider_ids):
    staff = {}
    for provider_id, user_id in RepairProviderMember.objects.filter(
        provider_id__in=provider_ids
    ).values_list("provider_id", "user_id"):
        staff.setdefault(provider_id, []).append(user_id)
    return staff


def _reminders(pairs, now):
    pairs = [
        (e, r)
        for e, r in pairs
        if r.status in RepairOrder.AT_REPAIRER_STATUSES and r.provider_id is not None
    ]
    if not pairs:
        return
    staff = _provider_staff({r.provider_id for _, r in pairs})
    messages = []
    for event, repair in pairs:
        context = {
            "repair_id": repair.pk,
            "repair_number": repair.number,
            "reminder": "g6" if event.payload["kind"] == G6_REMINDER else "g5",
            "days_at_repairer": G6_REMIND_AT_DAY,
            "repairer_days": rules.REPAIRER_DAYS,
            "days_left": G5_REMIND_DAYS_BEFORE,
        }
        for user_id in staff.get(repair.provider_id, ()):
            messages.append((user_id, "repair.limit_reminder", context, repair))
    notify_many(messages=messages, actor=SYSTEM)
