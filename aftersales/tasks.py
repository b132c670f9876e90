"""Celery tasks of the kernel: thin wrappers that take ids and call a service."""

import logging

from celery import shared_task

from .messaging_tasks import *  # noqa: F401,F403

log = logging.getLogger(__name__)


@shared_task(name="aftersales.sweep_deadlines", ignore_result=True)
def sweep_deadlines(batch_size=500, max_batches=None, helpers=None):
    """Beat, every minute: act on every due deadline (``deadlines.deadline_sweep``).

    A backlog (the first batch came back full: a night's limits passing at 24:00, a sweep
    after an outage) is swept by several worker processes at once: this sweep asks for
    ``DEADLINE_SWEEPERS - 1`` more (``helpers``), which the other worker processes run while it
    goes on; ``FOR UPDATE SKIP LOCKED`` keeps every row to one sweeper. A broker that cannot be
    reached only leaves this sweep alone on the backlog.
    """
    from django.conf import settings

    from .deadlines import deadline_sweep

    if helpers is None:
        helpers = max(int(getattr(settings, "DEADLINE_SWEEPERS", 1)) - 1, 0)
    stats = deadline_sweep(batch_size=batch_size, max_batches=1)
    if stats.claimed >= batch_size and (max_batches is None or max_batches > 1):
        for _ in range(helpers):
            try:
                sweep_deadlines.apply_async(
                    kwargs={"batch_size": batch_size, "max_batches": max_batches, "helpers": 0},
                    retry=False,
                )
            except Exception:  # noqa: BLE001 - the broker is down: sweep the backlog alone
                log.warning("could not ask for a helper sweep", exc_info=True)
                break
        rest = deadline_sweep(
            batch_size=batch_size, max_batches=None if max_batches is None else max_batches - 1
        )
        for name in ("batches", "claimed", "done", "retried", "failed"):
            setattr(stats, name, getattr(stats, name) + getattr(rest, name))
    return {"done": stats.done, "retried": stats.retried, "failed": stats.failed}
