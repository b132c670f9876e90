"""Domain events: the way an app tells apps below it (and the webhook outbox) what happened.

``event_publish`` stores a ``DomainEvent`` row and runs the handlers registered for its name in
the same transaction, so an app lower in the dependency list (invoices) reacts to one higher up
(returns) without importing it (ARCHITECTURE.md "Apps").
"""

from collections import defaultdict

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
    """Record the event and run its handlers; call inside the service's transaction."""
    event = DomainEvent.objects.create(
        name=name,
        subject_type=subject._meta.label_lower,
        subject_id=subject.pk,
        merchant_id=(
            merchant_id if merchant_id is not None else getattr(subject, "merchant_id", None)
        ),
        payload=payload or {},
    )
    for handler in subscribers(name):
        handler(event)
    return event


def events_dispatch(events):
    """Run the subscribers of domain events written in bulk (a deadline-sweep batch): what
    ``event_publish`` does for one row. A subscriber with a ``many`` attribute gets all the
    events of its name in one call; the others one event at a time."""
    for name in sorted({event.name for event in events}):
        named = [e for e in events if e.name == name]
        for handler in subscribers(name):
            many = getattr(handler, "many", None)
            if many is not None:
                many(named)
            else:
                for event in named:
                    handler(event)
