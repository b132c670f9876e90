"""Create the platform staff groups with their permissions (data-safe; see
aftersales.tenancy.groups)."""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext_lazy

from aftersales.tenancy.groups import platform_groups_ensure


class Command(BaseCommand):
    help = gettext_lazy("创建平台人员分组（售后专员、售后主管、调解员、审计员）并授予权限。")

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset",
            action="store_true",
            help=gettext_lazy("把分组权限重置为默认（移除手工添加的权限）。"),
        )

    def handle(self, *args, reset=False, **options):
        for name, n in platform_groups_ensure(reset=reset).items():
            self.stdout.write(f"{name}: +{n} permissions")
