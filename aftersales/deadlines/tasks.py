"""Celery task of the deadline engine: thin, calls the engine's sweep."""

from celery import shared_task
from django.conf import settings

from aftersales.deadlines.engine import deadline_sweep_backlog


@shared_task(name="aftersales.sweep_deadlines", ignore_result=True, bind=True)
def sweep_deadlines(self, batch_size=500, max_batches=None, helpers=None):
    """Beat, every minute: act on every due deadline (``deadlines.deadline_sweep``).

    A backlog (the first batch came back full: a night's limits passing at 24:00, a sweep
    after an outage) is swept by several worker processes at once: this sweep asks for
    ``DEADLINE_SWEEPERS - 1`` more (``helpers``), which the other worker processes run while it
    goes on; ``FOR UPDATE SKIP LOCKED`` keeps every row to one sweeper. A broker that cannot be
    reached only leaves this sweep alone on the backlog. The helpers are sent where this sweep
    came from (its exchange and routing key), so workers that serve their own queue keep the
    whole backlog among themselves.
    """
    if helpers is None:
        helpers = max(int(getattr(settings, "DEADLINE_SWEEPERS", 1)) - 1, 0)

    # Through the default exchange ("") the routing key is the queue's name.
    came_by = self.request.delivery_info or {}
    key, exchange = came_by.get("routing_key"), came_by.get("exchange")
    route = (
        {"exchange": exchange, "routing_key": key} if exchange else {"queue": key} if key else {}
    )

    def ask_helper():
        sweep_deadlines.apply_async(
            kwargs={"batch_size": batch_size, "max_batches": max_batches, "helpers": 0},
            retry=False,
            **route,
        )

    stats = deadline_sweep_backlog(
        batch_size=batch_size, max_batches=max_batches, helpers=helpers, ask_helper=ask_helper
    )
    return {"done": stats.done, "retried": stats.retried, "failed": stats.failed}
