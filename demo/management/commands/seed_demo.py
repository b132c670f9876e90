"""``manage.py seed_demo``: load the demo data of every app, once per database."""

import time

from django.core.management.base import BaseCommand

from demo import seed as demo


class Command(BaseCommand):
    help = "Load demo merchants, consumers, catalog and 500 orders (skipped if already loaded)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--seed", type=int, default=demo.SEED, help="random seed (deterministic)"
        )

    def handle(self, *args, seed, **options):
        if demo.is_loaded():
            self.stdout.write("Demo data already loaded; nothing to do.")
            return
        started = time.monotonic()
        ctx = demo.seed_all(out=self.stdout, seed=seed)
        counts = ", ".join(f"{name} {n}" for name, n in ctx.counts.items())
        self.stdout.write(
            self.style.SUCCESS(f"Demo data loaded in {time.monotonic() - started:.1f}s: {counts}")
        )
