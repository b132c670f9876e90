"""``manage.py import_holidays [file.csv]``: load the holiday calendar (default: the bundled
``aftersales/data/cn-holidays-2026.csv``)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from aftersales.actors import SYSTEM
from aftersales.calendar import BUNDLED_CSV, holidays_import_csv
from aftersales.errors import DomainError


class Command(BaseCommand):
    help = "导入节假日日历 CSV（date,kind,name）。Import the holiday calendar from CSV."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(BUNDLED_CSV))

    def handle(self, *args, path, **options):
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"no such file: {file}")
        try:
            counts = holidays_import_csv(
                text=file.read_text(encoding="utf-8"), actor=SYSTEM, source=file.name
            )
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"created={counts['created']} updated={counts['updated']}")
