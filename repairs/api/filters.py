"""Filters of the repairs API (django-filter), applied to querysets already scoped to the caller
by ``repairs.selectors``."""

import django_filters
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy

from aftersales import clock
from aftersales.deadlines.models import Deadline

from ..deadlines import KINDS
from ..models import RepairOrder, RepairProvider, WarrantyCard, WarrantyEscalation


class WarrantyCardFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=WarrantyCard.Status.choices)
    merchant = django_filters.NumberFilter(field_name="merchant_id")
    consumer = django_filters.NumberFilter(field_name="consumer_id")
    order = django_filters.NumberFilter(
        field_name="order_line__order_id", help_text=gettext_lazy("订单 id")
    )
    order_line = django_filters.NumberFilter(field_name="order_line_id")
    catalog = django_filters.CharFilter(
        field_name="catalog_entry__code", help_text=gettext_lazy("三包目录编码")
    )
    number = django_filters.CharFilter(
        field_name="number", help_text=gettext_lazy("三包凭证号精确匹配")
    )
    serial_number = django_filters.CharFilter(
        field_name="serial_number", help_text=gettext_lazy("序列号精确匹配")
    )
    search = django_filters.CharFilter(
        method="filter_search", help_text=gettext_lazy("凭证号、序列号或商品名称包含该文字")
    )

    class Meta:
        model = WarrantyCard
        fields = ["status", "merchant", "consumer", "order", "order_line", "number"]

    def filter_search(self, qs, name, value):
        term = value.strip()
        if not term:
            return qs
        return qs.filter(
            Q(number__icontains=term)
            | Q(serial_number__icontains=term)
            | Q(product_name__icontains=term)
        )


class RepairProviderFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=RepairProvider.Status.choices)
    category = django_filters.CharFilter(
        field_name="categories__code", help_text=gettext_lazy("可维修的三包目录编码")
    )
    region = django_filters.CharFilter(
        method="filter_region", help_text=gettext_lazy("服务该省份（含全国）")
    )

    class Meta:
        model = RepairProvider
        fields = ["status", "category", "region"]

    def filter_region(self, qs, name, value):
        return qs.filter(Q(regions__contains=[value]) | Q(regions=[])) if value else qs


def overdue_deadlines(now):
    """Pending G5/G6 deadlines of a repair already past due (the sweep has not acted yet)."""
    return Deadline.objects.filter(
        subject_type=RepairOrder._meta.label_lower,
        subject_id=OuterRef("pk"),
        kind__in=KINDS,
        state=Deadline.State.PENDING,
        due_at__lte=now,
    )


def overdue_condition(now):
    """A repair past its G5 or G6 limit: the deadline is due and not yet acted on, or it has
    already put the case in the escalation queue (still open). Used by the API and the admin."""
    return Exists(overdue_deadlines(now)) | Exists(
        WarrantyEscalation.objects.filter(
            repair_id=OuterRef("pk"), rule__in=["G5", "G6"], status="open"
        )
    )


class RepairOrderFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=RepairOrder.Status.choices,
        help_text=gettext_lazy("可多选：?status=received&status=repairing"),
    )
    open = django_filters.BooleanFilter(
        method="filter_open", help_text=gettext_lazy("进行中（未完成）")
    )
    merchant = django_filters.NumberFilter(field_name="merchant_id")
    consumer = django_filters.NumberFilter(field_name="consumer_id")
    provider = django_filters.NumberFilter(field_name="provider_id")
    card = django_filters.NumberFilter(field_name="card_id")
    order = django_filters.NumberFilter(
        field_name="order_line__order_id", help_text=gettext_lazy("订单 id")
    )
    number = django_filters.CharFilter(
        field_name="number", help_text=gettext_lazy("维修单号精确匹配")
    )
    overdue = django_filters.BooleanFilter(
        method="filter_overdue",
        help_text=gettext_lazy(
            "超期：送修后修理者 30 日（G6）或缺件期限（G5）已过，或已转入三包升级队列"
        ),
    )

    class Meta:
        model = RepairOrder
        fields = ["status", "merchant", "consumer", "provider", "card", "service_mode", "is_paid"]

    def filter_open(self, qs, name, value):
        if value is None:
            return qs
        condition = Q(status__in=RepairOrder.OPEN_STATUSES)
        return qs.filter(condition) if value else qs.exclude(condition)

    def filter_overdue(self, qs, name, value):
        if value is None:
            return qs
        late = overdue_condition(clock.now())
        return qs.filter(late) if value else qs.exclude(late)


class WarrantyEscalationFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=WarrantyEscalation.Status.choices)
    rule = django_filters.MultipleChoiceFilter(choices=WarrantyEscalation.Rule.choices)
    merchant = django_filters.NumberFilter(field_name="merchant_id")
    card = django_filters.NumberFilter(field_name="card_id")
    repair = django_filters.NumberFilter(field_name="repair_id")

    class Meta:
        model = WarrantyEscalation
        fields = ["status", "rule", "merchant", "card", "repair"]
