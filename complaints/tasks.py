"""Thin Celery tasks of complaints: the periodic checkpoint and integrity job (C6)."""

from celery import shared_task

from .services import checkpoint_publish, integrity_check


@shared_task(name="complaints.publish_checkpoint")
def publish_checkpoint():
    """Sign and publish a checkpoint of the complaint log when it has grown."""
    checkpoint = checkpoint_publish()
    return checkpoint.tree_size if checkpoint else 0


@shared_task(name="complaints.integrity_check")
def run_integrity_check():
    """Recompute every chain, leaf and checkpoint; mismatches become incidents."""
    return len(integrity_check())
