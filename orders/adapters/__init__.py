"""Adapters to the outside parties of orders: the payment gateway and the carrier.

The implementation is chosen by setting, as a dotted path, so production plugs in the real
parties without touching services:

    PAYMENT_GATEWAY = "orders.adapters.payment.SandboxPaymentGateway"
    CARRIER = "orders.adapters.carrier.SandboxCarrier"

The sandbox implementations behave like the real parties: they answer asynchronously through
Celery tasks, after a delay, and fail on documented triggers.
"""

from celery import current_app
from django.conf import settings
from django.utils.module_loading import import_string

DEFAULT_PAYMENT_GATEWAY = "orders.adapters.payment.SandboxPaymentGateway"
DEFAULT_CARRIER = "orders.adapters.carrier.SandboxCarrier"


def get_payment_gateway():
    """The configured ``PaymentGateway``."""
    return import_string(getattr(settings, "PAYMENT_GATEWAY", None) or DEFAULT_PAYMENT_GATEWAY)()


def get_carrier():
    """The configured ``Carrier``."""
    return import_string(getattr(settings, "CARRIER", None) or DEFAULT_CARRIER)()


def sandbox_delay():
    """Seconds a sandbox party takes to answer (``SANDBOX_ADAPTER_DELAY_SECONDS``, default 3)."""
    return float(getattr(settings, "SANDBOX_ADAPTER_DELAY_SECONDS", 3))


def task_queue(task):
    """The queue a running bound task came from (``None`` outside a worker): a sandbox party's
    next answer goes back to it (``sandbox_send(queue=...)``)."""
    info = getattr(task.request, "delivery_info", None) or {}
    return info.get("routing_key") or None


def sandbox_send(task_name, args, *, countdown, queue=None):
    """Send a sandbox party's answer task ``task_name`` after ``countdown`` seconds, by name
    (``current_app.tasks``: the adapters sit below the tasks that record the answer through
    services, and every app registers its tasks in ``ready()``), routed to
    ``SANDBOX_TASK_QUEUE`` (default: the default queue); a retry stays on the queue it came
    from (``queue``)."""
    queue = queue or getattr(settings, "SANDBOX_TASK_QUEUE", None)
    options = {"queue": queue} if queue else {}
    current_app.tasks[task_name].apply_async(args=args, countdown=countdown, **options)
