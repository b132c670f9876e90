"""Celery tasks for notifications and webhooks (issue 3): thin, take ids, call a service."""

from celery import shared_task

from aftersales.messaging import notifications, webhooks

__all__ = ["deliver_webhooks", "deliver_webhook", "send_notification"]


@shared_task(name="aftersales.deliver_webhooks")
def deliver_webhooks():
    """Beat, every 30 s: due webhook deliveries and due email/SMS notification deliveries
    (retries, and first tries whose task never reached the broker)."""
    return {
        "webhooks": webhooks.webhook_sweep(),
        "notifications": notifications.notification_sweep(),
    }


@shared_task(name="aftersales.deliver_webhook")
def deliver_webhook(delivery_id):
    return len(webhooks.webhook_delivery_attempt(delivery_id=delivery_id))


@shared_task(name="aftersales.send_notification")
def send_notification(delivery_id):
    return notifications.notification_delivery_attempt(delivery_id=delivery_id)
