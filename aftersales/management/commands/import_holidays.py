"""``manage.py import_holidays [file.csv]``: load the holiday calendar (default: the bundled
``aftersales/data/cn-holidays-2026.csv``)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext_lazy

from aftersales.deadlines.calendar import BUNDLED_CSV, holidays_import_csv
from aftersales.deadlines.models import Holiday
from aftersales.errors import DomainError
from aftersales.tenancy.actors import SYSTEM


class Command(BaseCommand):
    help = gettext_lazy("导入节假日日历 CSV（date,kind,name 三列）。")

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(BUNDLED_CSV))
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help=gettext_lazy("只在日历为空时导入（部署启动时使用，不覆盖后台的修改）。"),
        )

    def handle(self, *args, path, if_empty=False, **options):
        if if_empty and Holiday.objects.exists():
            self.stdout.write("calendar already loaded; nothing imported")
            return
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
