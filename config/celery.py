"""The Celery app. The beat schedule is static and lives in code (ARCHITECTURE.md)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("aftersales")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.beat_schedule = {
    # Claims due deadlines (FOR UPDATE SKIP LOCKED) and runs their handlers. Each run does all
    # that is due, so a run still queued when the next one is sent is dropped (expires).
    "sweep-deadlines": {
        "task": "aftersales.sweep_deadlines",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Delivers pending webhook outbox rows and notifications, with back-off.
    "deliver-webhooks": {"task": "aftersales.deliver_webhooks", "schedule": 30.0},
    # Resends gateway refunds and transfers still pending after a minute (an enqueue lost while
    # the broker was down, or a task lost with a crashed worker): recovered within two minutes.
    "resubmit-stale-refunds": {"task": "orders.resubmit_stale_refunds", "schedule": 60.0},
    # The same for pickup bookings sent to the carrier and third-party inspections (R16, R19).
    "resubmit-stale-pickups": {"task": "orders.resubmit_stale_pickups", "schedule": 60.0},
    "resubmit-stale-inspections": {
        "task": "returns.resubmit_stale_inspections",
        "schedule": 60.0,
    },
    # Asks the gateway again for return refunds that failed (in part), a few times each (R7).
    "retry-failed-return-refunds": {"task": "returns.retry_failed_refunds", "schedule": 600.0},
    # Marks 三包 warranty cards whose every period has ended as expired (G9), in batches.
    "expire-warranty-cards": {"task": "repairs.expire_warranty_cards", "schedule": 3600.0},
    # Signs a checkpoint of the complaint log when it has grown (RULES.md C6), and recomputes
    # every chain and the log, raising an incident on a mismatch.
    "publish-complaint-checkpoint": {"task": "complaints.publish_checkpoint", "schedule": 300.0},
    "check-complaint-records": {"task": "complaints.integrity_check", "schedule": 3600.0},
}
