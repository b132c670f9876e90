"""Write the map of what happens after an event (``docs/events.md``; STYLE.md rule 14).

``manage.py eventmap --file docs/events.md`` (``make eventmap``) regenerates the committed map;
without ``--file`` it goes to stdout. ``bin/run-tests`` regenerates it and fails on drift.
"""

from pathlib import Path

from django.core.management.base import BaseCommand
from django.utils.translation import gettext_lazy

from aftersales.eventmap import event_map_markdown


class Command(BaseCommand):
    help = gettext_lazy(
        "生成事件 → 处理函数与状态 → 期限规则的对照表"
        "（Markdown；--file 指定文件，默认输出到标准输出）。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--file", help="write here instead of stdout (docs/events.md)")

    def handle(self, *args, file=None, **options):
        text = event_map_markdown()
        if file:
            Path(file).write_text(text, encoding="utf-8")
        else:
            self.stdout.write(text, ending="")
