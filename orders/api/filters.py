"""Filters of the orders API (django-filter)."""

import django_filters
from django.utils.translation import gettext_lazy

from ..models import Order, Payment, Product, Shipment, Sku
from ..selectors import order_search, placed_between


class OrderFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=Order.Status.choices, help_text=gettext_lazy("可多选：?status=paid&status=shipped")
    )
    merchant = django_filters.NumberFilter(field_name="merchant_id")
    consumer = django_filters.NumberFilter(field_name="consumer_id")
    number = django_filters.CharFilter(
        field_name="number", help_text=gettext_lazy("订单号精确匹配")
    )
    placed_from = django_filters.DateFilter(
        method="filter_placed_from", help_text=gettext_lazy("下单日期起（含，上海时间）")
    )
    placed_to = django_filters.DateFilter(
        method="filter_placed_to", help_text=gettext_lazy("下单日期止（含，上海时间）")
    )
    search = django_filters.CharFilter(
        method="filter_search", help_text=gettext_lazy("订单号或商品名称包含该文字")
    )

    class Meta:
        model = Order
        fields = ["status", "merchant", "consumer", "number"]

    def filter_placed_from(self, qs, name, value):
        return placed_between(qs, placed_from=value)

    def filter_placed_to(self, qs, name, value):
        return placed_between(qs, placed_to=value)

    def filter_search(self, qs, name, value):
        return order_search(qs, value.strip()) if value.strip() else qs


class ShipmentFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Shipment.Status.choices)
    order = django_filters.NumberFilter(field_name="order_id")
    merchant = django_filters.NumberFilter(field_name="merchant_id")

    class Meta:
        model = Shipment
        fields = ["status", "order", "merchant", "carrier", "tracking_number", "purpose"]


class PaymentFilter(django_filters.FilterSet):
    order = django_filters.NumberFilter(field_name="order_id")

    class Meta:
        model = Payment
        fields = ["order", "status", "external_id"]


class ProductFilter(django_filters.FilterSet):
    class Meta:
        model = Product
        fields = ["merchant", "category", "is_active", "external_id"]


class SkuFilter(django_filters.FilterSet):
    merchant = django_filters.NumberFilter(field_name="product__merchant_id")

    class Meta:
        model = Sku
        fields = ["product", "merchant", "code"]
