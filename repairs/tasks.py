"""Thin Celery tasks of the repairs app: they take ids and call one service.

The G5/G6 limits need no task of their own: they are deadlines, acted on by the kernel's
minute sweep (``aftersales.deadlines.tasks.sweep_deadlines``, see ``repairs.deadlines``).
"""

from celery import shared_task

from aftersales.tenancy.actors import SYSTEM
from orders.models import OrderLine

from .services import warranty_card_create, warranty_cards_expire


@shared_task(name="repairs.expire_warranty_cards")
def expire_warranty_cards(limit=1000):
    """Daily: cards out of every period become ``expired``."""
    return warranty_cards_expire(actor=SYSTEM, limit=limit)


@shared_task(name="repairs.create_warranty_cards")
def create_warranty_cards(line_id):
    """Create the cards of a signed line (staff retry after fixing the catalog)."""
    line = OrderLine.objects.get(pk=line_id)
    return [card.pk for card in warranty_card_create(line=line, actor=SYSTEM)]
