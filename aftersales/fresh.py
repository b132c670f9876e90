"""The rows a service wrote for a case it has just created, kept with the case so its first
answer reads none of them back.

A create answers with the whole case: its timeline and its open deadlines. For a case inserted
in the same transaction these are exactly the rows the service wrote, so reading them again
costs two queries for nothing. ``fresh_track(case)`` (right after the insert) starts keeping,
on that instance, every timeline event (``aftersales.timeline.timeline_record``) and deadline
(``aftersales.deadlines.deadline_schedule``) written for it; ``timeline_events`` and
``deadlines_for`` then answer from them.

What is kept is only ever complete: anything that could change the case's rows another way
stops the keeping (``fresh_forget``), and the readers go back to the database — a deadline
moved, cancelled, paused, resumed or extended, a domain event with handlers of its own (they
load the case themselves), or a service step that writes through other code (an instant
refund). Timeline data is kept as the database gives it back (JSON-decoded, object keys in
``jsonb`` order), so the answer is byte for byte the case read again
(``returns/tests/test_api_answer.py``).
"""

import json

from django.db import connection

_ATTR = "_fresh_written"


class Written:
    __slots__ = ("timeline", "deadlines")

    def __init__(self):
        self.timeline = []
        self.deadlines = []


def fresh_track(subject):
    """``subject`` was inserted in the caller's transaction and has no other rows yet: keep
    what is written for it from now on."""
    setattr(subject, _ATTR, Written())


def fresh_forget(subject):
    """Stop keeping rows for ``subject``: its readers go to the database again."""
    if getattr(subject, _ATTR, None) is not None:
        setattr(subject, _ATTR, None)


def fresh_written(subject):
    """The ``Written`` rows of a tracked ``subject``, else ``None``."""
    return getattr(subject, _ATTR, None)


def _jsonb_order(value):
    """A JSON value with its object keys as PostgreSQL's ``jsonb`` stores them: shorter keys
    first, then by their bytes."""
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (len(k.encode()), k.encode()))
        return {k: _jsonb_order(value[k]) for k in keys}
    if isinstance(value, list):
        return [_jsonb_order(v) for v in value]
    return value


def as_stored(field, value):
    """``value`` of the JSON column ``field`` as reading it back gives it: encoded with the
    field's encoder, decoded, and (PostgreSQL) with its keys in ``jsonb`` order."""
    decoded = json.loads(json.dumps(value, cls=field.encoder))
    return _jsonb_order(decoded) if connection.vendor == "postgresql" else decoded
