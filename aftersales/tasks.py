"""Celery tasks of the kernel: thin wrappers that take ids and call a service."""

from celery import shared_task

from .messaging_tasks import *  # noqa: F401,F403


@shared_task(name="aftersales.sweep_deadlines", ignore_result=True)
def sweep_deadlines(batch_size=500, max_batches=None):
    """Beat, every minute: act on every due deadline (``deadlines.deadline_sweep``)."""
    from .deadlines import deadline_sweep

    stats = deadline_sweep(batch_size=batch_size, max_batches=max_batches)
    return {"done": stats.done, "retried": stats.retried, "failed": stats.failed}
