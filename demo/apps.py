"""Demo data for a fresh machine (``manage.py seed_demo``): no models, no URLs."""

from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "demo"
    verbose_name = "演示数据"
