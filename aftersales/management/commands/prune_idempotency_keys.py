"""Delete stored Idempotency-Key responses older than a retention period (Stripe keeps 24 h).

A key used again after pruning runs as a new request, so keep the period longer than any
client's retry window.
"""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext_lazy

from aftersales import clock
from aftersales.api.models import IdempotencyRecord


class Command(BaseCommand):
    help = gettext_lazy("删除超过保留期（--hours，默认 72 小时）的幂等记录。")

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=int, default=72)

    def handle(self, *args, hours=72, **options):
        if hours < 24:
            raise CommandError("--hours must be at least 24")
        cutoff = clock.now() - timedelta(hours=hours)
        deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
        self.stdout.write(f"deleted {deleted} idempotency records older than {hours} h")
