"""Domain events: the way an app tells apps below it (and the webhook outbox) what happened.

``event_publish`` stores a ``DomainEvent`` row and runs the handlers registered for its name in
the same transaction, so an app lower in the dependency list (invoices) reacts to one higher up
(returns) without importing it (ARCHITECTURE.md "Apps").
"""

from collections import defaultdict
from contextlib import contextmanager
from contextvars import ContextVar

from aftersales.casefile.models import DomainEvent

_handlers = defaultdict(list)


def subscribe(name):
    """Decorator: ``@subscribe("refund.succeeded") def handler(event): ...``."""

    def register(fn):
        if fn not in _handlers[name]:
            _handlers[name].append(fn)
        return fn

    return register


def subscribers(name):
    """The handlers that run for an event called ``name`` (its own, then the ``*`` ones)."""
    return list(_handlers[name]) + list(_handlers["*"])


def subscriptions():
    """Every event name that has handlers, with them in the order they run (``docs/events.md``,
    ``aftersales.eventmap``); the ``*`` ones run after each event's own."""
    return {name: list(fns) for name, fns in _handlers.items() if fns}


def event_publish(name, *, subject, payload=None, merchant_id=None):
    """Record the event and run its handlers; call inside the service's transaction. Inside
    ``events_batched`` both happen when the block ends."""
    event = DomainEvent(
        name=name,
        subject_type=subject._meta.label_lower,
        subject_id=subject.pk,
        merchant_id=(
            merchant_id if merchant_id is not None else getattr(subject, "merchant_id", None)
        ),
        payload=payload or {},
    )
    batch = _batch.get()
    if batch is not None:
        batch.append(event)
        return event
    event.save(force_insert=True)
    for handler in subscribers(name):
        handler(event)
    return event


# The events published inside ``events_batched``, not written yet.
_batch = ContextVar("aftersales_events_batch", default=None)


@contextmanager
def events_batched():
    """Within the block (one service's transaction: enter it inside ``transaction.atomic()``)
    ``event_publish`` keeps its events; when the block ends without an error they are written
    with one ``bulk_create`` and their handlers run, still in the transaction: each event's own
    subscribers event by event in the order published, then the ``*`` ones (the outbox) with
    all the events at once where they take a batch. Nested blocks share the outer one; events
    published by the handlers are written at once. Only around code that reads none of the
    events it publishes and whose events' own subscribers may run after the rest of the block
    (``docs/events.md``)."""
    if _batch.get() is not None:
        yield
        return
    events = []
    token = _batch.set(events)
    try:
        yield
    finally:
        _batch.reset(token)
    if not events:
        return
    DomainEvent.objects.bulk_create(events)
    for event in events:
        for handler in _handlers.get(event.name, ()):
            handler(event)
    for handler in _handlers.get("*", ()):
        _run(handler, events)


def _run(handler, events):
    """``handler`` over ``events``: in one call when it takes a batch (its ``many``), else one
    event at a time."""
    many = getattr(handler, "many", None)
    if many is not None:
        many(events)
    else:
        for event in events:
            handler(event)


def events_dispatch(events):
    """Run the subscribers of domain events written in bulk (a deadline-sweep batch): what
    ``event_publish`` does for one row. A subscriber with a ``many`` attribute gets all the
    events of its name in one call; the others one event at a time."""
    for name in sorted({event.name for event in events}):
        named = [e for e in events if e.name == name]
        for handler in subscribers(name):
            _run(handler, named)
