"""Every Celery task of the kernel, where Celery's autodiscovery looks (``aftersales.tasks``):
each is defined in the package whose job it is."""

from aftersales.deadlines.tasks import sweep_deadlines
from aftersales.messaging.tasks import deliver_webhook, deliver_webhooks, send_notification

__all__ = ["deliver_webhook", "deliver_webhooks", "send_notification", "sweep_deadlines"]
