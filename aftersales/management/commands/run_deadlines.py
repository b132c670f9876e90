"""``manage.py run_deadlines``: run the deadline sweep synchronously (the beat task's work)."""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext_lazy

from aftersales.deadlines.engine import deadline_sweep


class Command(BaseCommand):
    help = gettext_lazy("立即执行所有到期的期限（与每分钟的定时任务相同）。")

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size, **options):
        stats = deadline_sweep(batch_size=batch_size)
        self.stdout.write(
            f"done={stats.done} retried={stats.retried} failed={stats.failed} "
            f"batches={stats.batches}"
        )
