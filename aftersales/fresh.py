"""The rows a service wrote for a case it has just created, kept with the case so its first
answer reads none of them back.

A create answers with the whole case: its timeline and its open deadlines. For a case inserted
in the same transaction these are exactly the rows the service wrote, so reading them again
costs two queries for nothing. ``fresh_track(case)`` (right after the insert) starts keeping,
on that instance, every timeline event (``aftersales.timeline.timeline_record``) and deadline
(``aftersales.deadlines.deadline_schedule``) written for it; the create's answer takes them
once with ``fresh_take`` (which ends the keeping) and builds its timeline and deadlines from
them. Nothing else reads them: ``timeline_events`` and ``deadlines_for`` always read the
database, so an instance kept after its answer (a test, the demo) never shows stale rows.

The keeping stops (``fresh_forget``; ``fresh_take`` then gives ``None`` and the answer reads
the database) whenever the case's rows may change another way: a deadline moved, cancelled,
paused, resumed or extended; a domain event with handlers of its own for its name (they load
the case themselves; the ``"*"`` handlers — the webhook outbox — write no timeline or
deadline); a step of the service that writes through other code (an instant refund). A caller
that rolls back a savepoint and carries on must forget too, since rows kept inside it are gone
(``aftersales.deadlines.notify_quietly`` does). What is kept is stored as the database gives it
back (JSON decoded, object keys in ``jsonb`` order), so the answer is byte for byte the case
read again (``returns/tests/test_api_answer.py``).
"""

import copy
import json

from django.db import connection

_ATTR = "_fresh_written"


class Written:
    __slots__ = ("timeline", "deadlines")

    def __init__(self):
        self.timeline = []
        self.deadlines = []

    def events(self):
        """The timeline events, oldest first (the order ``timeline_events`` reads)."""
        return sorted(self.timeline, key=lambda e: (e.occurred_at, e.pk))

    def open_deadlines(self, open_states, reminder_suffix, *, include_reminders=False):
        """The open deadlines, soonest first (the order ``deadlines_for`` reads)."""
        return sorted(
            (
                d
                for d in self.deadlines
                if d.state in open_states
                and (include_reminders or not d.kind.endswith(reminder_suffix))
            ),
            key=lambda d: (d.due_at, d.pk),
        )


def fresh_track(subject):
    """``subject`` was inserted in the caller's transaction and has no other rows yet: keep
    what is written for it from now on."""
    setattr(subject, _ATTR, Written())


def fresh_forget(subject):
    """Stop keeping rows for ``subject``: its answer reads the database."""
    if getattr(subject, _ATTR, None) is not None:
        setattr(subject, _ATTR, None)


def fresh_written(subject):
    """The ``Written`` rows of a tracked ``subject`` (for the writers), else ``None``."""
    return getattr(subject, _ATTR, None)


def fresh_take(subject):
    """The rows kept for ``subject``, once: the keeping ends. ``None`` when it was never kept
    or was stopped."""
    written = getattr(subject, _ATTR, None)
    if written is not None:
        setattr(subject, _ATTR, None)
    return written


def kept_copy(instance, json_fields):
    """A copy of a row just written, its JSON fields as reading the row back gives them (the
    caller's instance keeps the values it was given)."""
    kept = copy.copy(instance)
    for field in json_fields:
        setattr(kept, field.attname, as_stored(field, getattr(instance, field.attname)))
    return kept


def _jsonb(value):
    """A decoded JSON value as PostgreSQL's ``jsonb`` gives it back: object keys shorter first,
    then by their bytes; a whole float written with an exponent (``1e20``) comes back as an
    integer."""
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (len(k.encode()), k.encode()))
        return {k: _jsonb(value[k]) for k in keys}
    if isinstance(value, list):
        return [_jsonb(v) for v in value]
    if type(value) is float and value.is_integer() and "e" in repr(value):
        return int(value)
    return value


def as_stored(field, value):
    """``value`` of the JSON column ``field`` as reading it back gives it: encoded with the
    field's encoder, decoded, and (PostgreSQL) normalised as ``jsonb`` stores it."""
    if value is None:
        return None
    decoded = json.loads(json.dumps(value, cls=field.encoder))
    return _jsonb(decoded) if connection.vendor == "postgresql" else decoded
