"""The deadline engine (ARCHITECTURE.md "Deadlines").

Apps register a handler per kind (``aftersales.deadlines.registry.deadline_register``) and
schedule deadlines on their cases (``deadline_schedule``); pausing, resuming and extending are
updates of ``due_at``. The sweep (``deadline_sweep``, run every minute by beat and by
``manage.py run_deadlines``) claims due rows with ``FOR UPDATE SKIP LOCKED`` and runs each handler
in the same transaction as the row's move to ``done``, its timeline event and its outbox row, so
every deadline is acted on exactly once however many sweepers run. A handler that raises is rolled
back to its own savepoint and retried later; the rest of the batch goes on.

Handlers take the ``Deadline`` row and return a JSON-able result (or ``None``). They must keep
their effects in the database (and ``transaction.on_commit``): a handler may run again after a
rollback. They lock their case and check that it is still in the state the deadline is about
(a cancel that races the sweep skips the row the sweep holds), and do nothing otherwise.
"""

import gc
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import timedelta
from functools import partial
from types import SimpleNamespace

from celery import current_app
from django.apps import apps
from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from aftersales import clock
from aftersales.bulk import actor_columns, insert_rows, instances, json_text
from aftersales.casefile import events as domain_events
from aftersales.casefile.models import DomainEvent, TimelineEvent
from aftersales.casefile.statuses import on_status_change
from aftersales.casefile.timeline import timeline_record
from aftersales.deadlines.models import Deadline
from aftersales.deadlines.registry import REMINDER_SUFFIX, registered
from aftersales.errors import InvalidInput, NotFound
from aftersales.tenancy.actors import SYSTEM

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
SWEEP_TASK = "aftersales.sweep_deadlines"
OPEN_STATES = (Deadline.State.PENDING, Deadline.State.PAUSED)


# -- subjects -----------------------------------------------------------------------------------


class SubjectRef:
    """A case known by label and id, for timeline and outbox rows without loading it."""

    def __init__(self, label, pk, merchant_id=None):
        self._meta = SimpleNamespace(label_lower=label)
        self.pk = pk
        self.merchant_id = merchant_id


def deadline_subject(deadline, *, lock=False):
    """The case a deadline belongs to (locked with ``lock=True``)."""
    model = apps.get_model(deadline.subject_type)
    qs = model._default_manager.all()
    if lock:
        qs = qs.select_for_update()
    return qs.get(pk=deadline.subject_id)


def _label(subject):
    return subject._meta.label_lower


def _open_for(subject, kind=None):
    qs = Deadline.objects.filter(
        subject_type=_label(subject), subject_id=subject.pk, state__in=OPEN_STATES
    )
    if kind is not None:
        qs = qs.filter(Q(kind=kind) | Q(kind=kind + REMINDER_SUFFIX))
    return qs


# -- services -----------------------------------------------------------------------------------


def _kick(due_at):
    """After commit: a deadline due within the minute gets a sweep now instead of at the next
    beat. The deadline is already safe in PostgreSQL, so a broker that cannot be reached is
    logged, never raised: the beat sweep catches up when it returns."""
    if due_at > clock.now() + timedelta(seconds=60):
        return
    try:
        # By name, from Celery's registry: the task (aftersales.deadlines.tasks) calls this
        # engine, so the engine does not import it.
        current_app.tasks[SWEEP_TASK].apply_async(retry=False)
    except Exception:  # noqa: BLE001 - any broker failure must not fail the committed write
        log.warning(
            "could not enqueue a deadline sweep; the beat sweep will catch up", exc_info=True
        )


def deadline_schedule(
    *,
    subject,
    kind,
    due_at,
    actor,
    policy=None,
    reminders=(),
    data=None,
    merchant_id=None,
    fresh=False,
):
    """Schedule ``kind`` on ``subject`` at ``due_at``; returns the ``Deadline``.

    One open deadline per (subject, kind): scheduling again moves it (a reschedule).
    ``reminders`` are offsets before ``due_at`` (``[timedelta(hours=24)]``), each its own row of
    kind ``<kind>.reminder``. ``policy`` is the ``PolicyRef`` the due time came from.
    ``fresh=True``: the subject was created in the caller's transaction, so it has no open
    deadline to move and none is looked for.
    """
    if registered(kind) is None:
        raise LookupError(f"no deadline handler registered for {kind!r}")
    if due_at.tzinfo is None:
        raise ValueError("due_at must be aware")
    merchant_id = merchant_id if merchant_id is not None else getattr(subject, "merchant_id", None)
    # No savepoint: a failure here fails the caller's write, which is what every caller wants.
    with transaction.atomic(savepoint=False):
        open_rows = (
            [] if fresh else list(_open_for(subject, kind).select_for_update().order_by("pk"))
        )
        main = next((r for r in open_rows if r.kind == kind), None)
        # Old reminders go; new ones follow the new due time.
        stale = [r.pk for r in open_rows if r is not main]
        if stale:
            Deadline.objects.filter(pk__in=stale).update(
                state=Deadline.State.CANCELLED, completed_at=clock.now()
            )
        verb = "deadline.rescheduled" if main else "deadline.scheduled"
        if main is None:
            main = Deadline(subject_type=_label(subject), subject_id=subject.pk, kind=kind)
        main.merchant_id = merchant_id
        main.due_at = due_at
        main.state = Deadline.State.PENDING
        main.paused_at = main.remaining = None
        main.data = data or {}
        main.attempts = 0
        main.last_error = ""
        if policy is not None:
            main.policy_key = policy.key
            main.policy_version_id = policy.version_id
            main.policy_value = policy.value
        main.save()
        now = clock.now()
        Deadline.objects.bulk_create(
            [
                Deadline(
                    subject_type=main.subject_type,
                    subject_id=main.subject_id,
                    merchant_id=merchant_id,
                    kind=kind + REMINDER_SUFFIX,
                    parent=main,
                    due_at=due_at - offset,
                    data={"before_seconds": int(offset.total_seconds())},
                    policy_key=main.policy_key,
                    policy_version_id=main.policy_version_id,
                    policy_value=main.policy_value,
                )
                for offset in reminders
                if due_at - offset > now
            ]
        )
        timeline_record(
            subject=subject,
            verb=verb,
            actor=actor,
            data={
                "deadline_id": main.pk,
                "kind": kind,
                "due_at": due_at.isoformat(),
                "policy": str(policy) if policy else "",
            },
        )
        transaction.on_commit(partial(_kick, due_at))
    return main


def _locked_open(subject, kind):
    rows = list(_open_for(subject, kind).select_for_update().order_by("pk"))
    if not any(r.kind == kind for r in rows):
        raise NotFound(
            _("没有待执行的此类期限。"), code="deadline_not_found", fields={"kind": kind}
        )
    return rows


def deadline_cancel(*, subject, kind, actor, reason=""):
    """Cancel the open deadline ``kind`` of ``subject`` and its reminders; returns how many
    rows were cancelled (0 when there was none: cancelling is idempotent).

    A row a sweeper holds is being acted on right now and is skipped rather than waited for:
    waiting would deadlock against a handler that locks this same case (the case is locked by
    the caller's status move). Handlers therefore re-check their case's state under its lock.
    """
    with transaction.atomic():
        rows = list(_open_for(subject, kind).select_for_update(skip_locked=True).order_by("pk"))
        if not rows:
            return 0
        Deadline.objects.filter(pk__in=[r.pk for r in rows]).update(
            state=Deadline.State.CANCELLED, completed_at=clock.now()
        )
        timeline_record(
            subject=subject,
            verb="deadline.cancelled",
            actor=actor,
            reason=reason,
            data={"kind": kind, "deadline_ids": [r.pk for r in rows]},
        )
        return len(rows)


def deadline_pause(*, subject, kind, actor, reason=""):
    """Stop the clock of ``kind`` (and its reminders): what is left is kept in ``remaining``."""
    with transaction.atomic():
        now = clock.now()
        rows = [r for r in _locked_open(subject, kind) if r.state == Deadline.State.PENDING]
        for row in rows:
            row.state = Deadline.State.PAUSED
            row.paused_at = now
            row.remaining = max(row.due_at - now, timedelta(0))
            row.save(update_fields=["state", "paused_at", "remaining"])
        timeline_record(
            subject=subject, verb="deadline.paused", actor=actor, reason=reason, data={"kind": kind}
        )
        return rows


def deadline_resume(*, subject, kind, actor, reason=""):
    """Restart a paused ``kind``: due again after the time that was left when it paused."""
    with transaction.atomic():
        now = clock.now()
        rows = [r for r in _locked_open(subject, kind) if r.state == Deadline.State.PAUSED]
        for row in rows:
            row.due_at = now + row.remaining
            row.state = Deadline.State.PENDING
            row.paused_at = row.remaining = None
            row.save(update_fields=["due_at", "state", "paused_at", "remaining"])
        main = next((r for r in rows if r.kind == kind), None)
        timeline_record(
            subject=subject,
            verb="deadline.resumed",
            actor=actor,
            reason=reason,
            data={"kind": kind, "due_at": main.due_at.isoformat() if main else None},
        )
        if main is not None:
            transaction.on_commit(partial(_kick, main.due_at))
        return rows


def deadline_extend(*, subject, kind, actor, due_at=None, by=None, reason=""):
    """Move ``kind`` to ``due_at`` (or later by ``by``); its reminders move with it.

    An extension only ever gives more time: a ``by`` of zero or less, or a ``due_at`` not after
    the current due time, is refused (``extend_not_positive``); shortening a deadline is a
    reschedule (``deadline_schedule``), which records its own reason. A pending deadline that is
    due within the minute after the extension gets an immediate sweep, as with scheduling.
    """
    if (due_at is None) == (by is None):
        raise InvalidInput(_("请指定新的到期时间或延长时长之一。"), code="deadline_extend_invalid")
    if by is not None and by <= timedelta(0):
        raise InvalidInput(
            _("延长时长必须大于零。"),
            code="extend_not_positive",
            fields={"by": ["must be positive"]},
        )
    with transaction.atomic():
        rows = _locked_open(subject, kind)
        main = next(r for r in rows if r.kind == kind)
        delta = by if by is not None else due_at - main.due_at
        if delta <= timedelta(0):
            raise InvalidInput(
                _("新的到期时间必须晚于当前到期时间。"),
                code="extend_not_positive",
                fields={"due_at": ["must be after the current due time"]},
            )
        for row in rows:
            if row.state == Deadline.State.PAUSED:
                row.remaining = max(row.remaining + delta, timedelta(0))
            row.due_at = row.due_at + delta
            row.save(update_fields=["due_at", "remaining"])
        timeline_record(
            subject=subject,
            verb="deadline.extended",
            actor=actor,
            reason=reason,
            data={
                "kind": kind,
                "due_at": main.due_at.isoformat(),
                "by_seconds": int(delta.total_seconds()),
            },
        )
        pending = [r.due_at for r in rows if r.state == Deadline.State.PENDING]
        if pending:
            transaction.on_commit(partial(_kick, min(pending)))
        return main


def _open_deadlines(match, *, reminders):
    """Open deadlines matching ``match``, soonest first; reminders only when asked for."""
    qs = Deadline.objects.filter(match, state__in=OPEN_STATES).order_by("due_at", "id")
    return qs if reminders else qs.exclude(kind__endswith=REMINDER_SUFFIX)


def deadlines_for(subject, *, include_reminders=False):
    """The subject's open deadlines, soonest first: what will happen to the case and when."""
    match = Q(subject_type=_label(subject), subject_id=subject.pk)
    return list(_open_deadlines(match, reminders=include_reminders))


def deadlines_for_many(subjects, *, include_reminders=False):
    """The open deadlines of several subjects (a case and its parcels), soonest first, in one
    query per model."""
    by_label = {}
    for subject in subjects:
        by_label.setdefault(_label(subject), []).append(subject.pk)
    if not by_label:
        return []
    match = Q(pk__in=[])
    for label, ids in by_label.items():
        match |= Q(subject_type=label, subject_id__in=ids)
    return list(_open_deadlines(match, reminders=include_reminders))


# -- declarative status rules -------------------------------------------------------------------


@dataclass(frozen=True)
class Schedules:
    """On entering a status, schedule ``kind``: ``due(obj) -> (due_at, PolicyRef | None)``."""

    kind: str
    due: object
    reminders: object = None  # callable(obj) -> [timedelta]


@dataclass(frozen=True)
class Cancels:
    """On entering a status, cancel the open ``kind``."""

    kind: str


@dataclass
class _StatusTable:
    on_enter: dict = field(default_factory=dict)


_status_tables: dict[str, _StatusTable] = {}


def deadline_status_rules(model, table):
    """Declare which statuses of ``model`` schedule or cancel which kinds, e.g.::

        deadline_status_rules(ReturnRequest, {
            "requested": [Schedules("returns.auto_approve", due=auto_approve_due)],
            "approved": [Cancels("returns.auto_approve")],
        })

    ``aftersales.casefile.statuses.status_move`` applies the table on every move, in its
    transaction.
    """
    _status_tables[model._meta.label_lower] = _StatusTable(on_enter=dict(table))


def deadline_status_tables():
    """Every model label with its declared table: ``{status: [Schedules | Cancels, ...]}``."""
    return {label: dict(_status_tables[label].on_enter) for label in sorted(_status_tables)}


def deadline_status_enter(obj, actor):
    """Apply the status table's entry rules for ``obj``'s current status to a case created in
    the caller's transaction (creation is no status move, so ``status_move`` does not run them):
    its first deadlines are scheduled without looking for open ones."""
    _apply_status_rules(obj, "", obj.status, actor, fresh=True)


@on_status_change
def _apply_status_rules(obj, from_status, to_status, actor, *, fresh=False):
    table = _status_tables.get(obj._meta.label_lower)
    if table is None:
        return
    for step in table.on_enter.get(to_status, ()):
        if isinstance(step, Cancels):
            deadline_cancel(
                subject=obj,
                kind=step.kind,
                actor=actor,
                reason=f"status {from_status} → {to_status}",
            )
        else:
            due_at, policy = step.due(obj)
            deadline_schedule(
                subject=obj,
                kind=step.kind,
                due_at=due_at,
                actor=actor,
                policy=policy,
                reminders=step.reminders(obj) if step.reminders else (),
                fresh=fresh,
            )


# -- the sweep ----------------------------------------------------------------------------------


@dataclass
class SweepStats:
    batches: int = 0
    claimed: int = 0
    done: int = 0
    retried: int = 0
    failed: int = 0

    def __iadd__(self, other):
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self


def _retry_delay(attempts):
    return timedelta(minutes=2**attempts)


def _default_reminder(deadline):
    """A reminder without its own handler: the timeline records it; apps that want to tell
    someone register a handler for ``<kind>.reminder``."""
    return {"reminded": True, "of": deadline.kind[: -len(REMINDER_SUFFIX)]}


def _run(row):
    handler = registered(row.kind)
    if handler is None:
        if row.kind.endswith(REMINDER_SUFFIX):
            return _default_reminder(row) or {}
        raise LookupError(f"no deadline handler registered for {row.kind!r}")
    return handler.fn(row) or {}


def deadline_sweep(*, batch_size=500, now=None, max_batches=None):
    """Act on every deadline due at ``now`` (default: the clock), in batches; returns stats.

    Each batch is one transaction: claim up to ``batch_size`` due rows with
    ``FOR UPDATE SKIP LOCKED`` (other sweepers skip them), run their handlers, mark them done
    and write their timeline events and outbox rows. If a handler raises, the batch runs again
    one savepoint per row so only that row is rolled back and retried later.
    """
    now = now or clock.now()
    stats = SweepStats()
    while max_batches is None or stats.batches < max_batches:
        with _collector_paused():
            claimed = _sweep_batch(now, batch_size, stats)
        if claimed < batch_size:
            break
    return stats


def deadline_sweep_backlog(*, batch_size=500, max_batches=None, helpers=0, ask_helper=None):
    """``deadline_sweep`` that shares a backlog: when its first batch comes back full it calls
    ``ask_helper()`` ``helpers`` times (each asks another worker process for a sweep; the
    beat task enqueues ``aftersales.sweep_deadlines``) and goes on sweeping meanwhile;
    ``FOR UPDATE SKIP LOCKED`` keeps every row to one sweeper. A helper that cannot be asked
    (the broker is down) is logged and this sweep does the rest alone. ``max_batches`` counts
    this sweep's batches, the first included."""
    stats = deadline_sweep(batch_size=batch_size, max_batches=1)
    if stats.claimed < batch_size or (max_batches is not None and max_batches <= 1):
        return stats
    for _helper in range(helpers):
        try:
            ask_helper()
        except Exception:  # noqa: BLE001 - the broker is down: sweep the backlog alone
            log.warning("could not ask for a helper sweep", exc_info=True)
            break
    stats += deadline_sweep(
        batch_size=batch_size, max_batches=None if max_batches is None else max_batches - 1
    )
    return stats


@contextmanager
def _collector_paused():
    """No cyclic garbage collection inside a batch: a batch allocates tens of thousands of
    short-lived rows, and each collection it triggers walks every object of the process (the
    whole of Django), for nothing. Reference counting frees the rows as usual; the collector
    runs again after the batch, as it was (enabled or not)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _sweep_batch(now, batch_size, stats):
    with transaction.atomic():
        rows = list(
            Deadline.objects.select_for_update(skip_locked=True)
            .filter(state=Deadline.State.PENDING, due_at__lte=now)
            .order_by("due_at", "id")[:batch_size]
        )
        if not rows:
            return 0
        stats.batches += 1
        stats.claimed += len(rows)
        failures = []
        try:
            # Fast path: the whole batch under one savepoint.
            with transaction.atomic():
                outcomes = [(row, _run(row)) for row in rows]
        except Exception:  # noqa: BLE001 - redo row by row to isolate the failing handler
            outcomes = []
            for row in rows:
                try:
                    with transaction.atomic():
                        outcomes.append((row, _run(row)))
                except Exception as exc:  # noqa: BLE001
                    log.warning("deadline %s (%s) failed", row.pk, row.kind, exc_info=True)
                    failures.append((row, exc))
        _finish(outcomes, failures, now, stats)
    return len(rows)


def _finish(outcomes, failures, now, stats):
    done_at = clock.now()
    actor_fields = actor_columns(SYSTEM)
    timeline, outbox, payloads = [], [], []
    for row, result in outcomes:
        row.state = Deadline.State.DONE
        row.result = result
        row.completed_at = done_at
        row.attempts += 1
        data = {
            "deadline_id": row.pk,
            "kind": row.kind,
            "due_at": row.due_at.isoformat(),
            "result": result,
        }
        # Plain rows (``aftersales.bulk.insert_rows``: one COPY per table, no model instances);
        # the payload is encoded once for its timeline row and its outbox row.
        encoded = json_text(data)
        payloads.append(data)
        timeline.append(
            {
                "subject_type": row.subject_type,
                "subject_id": row.subject_id,
                "merchant_id": row.merchant_id,
                "verb": "deadline.reminded"
                if row.kind.endswith(REMINDER_SUFFIX)
                else "deadline.fired",
                "data": encoded,
                "occurred_at": done_at,
                **actor_fields,
            }
        )
        outbox.append(
            {
                "name": "deadline.fired",
                "subject_type": row.subject_type,
                "subject_id": row.subject_id,
                "merchant_id": row.merchant_id,
                "payload": encoded,
                "occurred_at": done_at,
            }
        )
    if outcomes:
        # The rows' move to done and, in the same statement, their reminders' cancellation.
        _mark_done(outcomes, done_at)
        insert_rows(TimelineEvent, timeline)
        ids = insert_rows(DomainEvent, outbox, returning=True)
        for event, data in zip(outbox, payloads, strict=True):
            event["payload"] = data
        domain_events.events_dispatch(instances(DomainEvent, ids, outbox))
    for row, exc in failures:
        row.attempts += 1
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if row.attempts >= MAX_ATTEMPTS:
            row.state = Deadline.State.FAILED
            row.completed_at = done_at
            stats.failed += 1
            timeline_record(
                subject=SubjectRef(row.subject_type, row.subject_id, row.merchant_id),
                verb="deadline.failed",
                actor=SYSTEM,
                reason=row.last_error,
                data={"deadline_id": row.pk, "kind": row.kind},
            )
        else:
            row.due_at = now + _retry_delay(row.attempts)
            stats.retried += 1
        row.save(update_fields=["attempts", "last_error", "state", "completed_at", "due_at"])
    stats.done += len(outcomes)


def _mark_done(outcomes, done_at):
    """The batch's rows to done, and the reminders of those rows that are still open to
    cancelled (a deadline that has fired has nothing left to remind of).

    On PostgreSQL one statement: an ``UPDATE … FROM unnest`` of the rows and, as a second
    data-modifying part of it, the reminders' cancellation (Django's ``bulk_update`` builds a
    CASE per row and field; an ``IN`` list of the batch's ids is prepared value by value). A
    reminder that is itself in the batch is done, not cancelled.
    """
    done_ids = [row.pk for row, _ in outcomes]
    if connection.vendor != "postgresql":
        # The embedded SQLite default: ``_finish`` has already set the fields on the rows.
        Deadline.objects.bulk_update(
            [row for row, _ in outcomes], ["state", "completed_at", "result", "attempts"]
        )
        Deadline.objects.filter(parent_id__in=done_ids, state__in=OPEN_STATES).update(
            state=Deadline.State.CANCELLED, completed_at=done_at
        )
        return
    table = connection.ops.quote_name(Deadline._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH done AS (UPDATE {table} AS d SET state = %s, completed_at = %s, "
            f"attempts = d.attempts + 1, result = v.result::jsonb "
            f"FROM unnest(%s::bigint[], %s::text[]) AS v(id, result) WHERE d.id = v.id) "
            f"UPDATE {table} AS r SET state = %s, completed_at = %s "
            f"WHERE r.parent_id = ANY(%s::bigint[]) AND r.state = ANY(%s::text[]) "
            f"AND NOT r.id = ANY(%s::bigint[])",
            [
                Deadline.State.DONE,
                done_at,
                done_ids,
                [json_text(result) for _, result in outcomes],
                Deadline.State.CANCELLED,
                done_at,
                done_ids,
                list(OPEN_STATES),
                done_ids,
            ],
        )
