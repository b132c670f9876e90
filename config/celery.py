"""The Celery app. The beat schedule is static and lives in code (ARCHITECTURE.md)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("aftersales")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.beat_schedule = {
    # Claims due deadlines (FOR UPDATE SKIP LOCKED) and runs their handlers.
    "sweep-deadlines": {"task": "aftersales.sweep_deadlines", "schedule": 60.0},
    # Delivers pending webhook outbox rows and notifications, with back-off.
    "deliver-webhooks": {"task": "aftersales.deliver_webhooks", "schedule": 30.0},
}
