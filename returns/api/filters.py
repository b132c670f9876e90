"""Filters of the returns API (django-filter)."""

import django_filters
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy

from aftersales.deadlines.models import Deadline

from .. import rules
from ..models import Arbitration, ReturnRequest
from ..selectors import requested_between

SUBJECT_TYPE = ReturnRequest._meta.label_lower


def pending_deadlines():
    """Pending deadlines of the outer request (on the engine's ``deadline_subject`` index)."""
    return Deadline.objects.filter(
        subject_type=SUBJECT_TYPE, subject_id=OuterRef("pk"), state=Deadline.State.PENDING
    )


class ReturnRequestFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=ReturnRequest.Status.choices,
        help_text=gettext_lazy("可多选：?status=requested&status=approved"),
    )
    kind = django_filters.MultipleChoiceFilter(choices=ReturnRequest.Kind.choices)
    reason = django_filters.MultipleChoiceFilter(choices=ReturnRequest.Reason.choices)
    merchant = django_filters.NumberFilter(field_name="merchant_id")
    consumer = django_filters.NumberFilter(field_name="consumer_id")
    order = django_filters.NumberFilter(field_name="order_id")
    line = django_filters.NumberFilter(field_name="line_id")
    number = django_filters.CharFilter(
        field_name="number", help_text=gettext_lazy("售后单号精确匹配")
    )
    search = django_filters.CharFilter(
        method="filter_search", help_text=gettext_lazy("售后单号或订单号包含该文字")
    )
    created_from = django_filters.DateFilter(
        method="filter_created_from", help_text=gettext_lazy("申请日期起（含，上海时间）")
    )
    created_to = django_filters.DateFilter(
        method="filter_created_to", help_text=gettext_lazy("申请日期止（含，上海时间）")
    )
    open = django_filters.BooleanFilter(
        method="filter_open", help_text=gettext_lazy("true：仍在处理中")
    )
    express = django_filters.BooleanFilter(
        field_name="express", help_text=gettext_lazy("极速退款（R12）")
    )
    has_open_deadline = django_filters.BooleanFilter(
        method="filter_has_open_deadline",
        help_text=gettext_lazy("true：有待执行的期限（倒计时中）"),
    )

    class Meta:
        model = ReturnRequest
        fields = ["status", "kind", "reason", "merchant", "consumer", "order", "line", "number"]

    def filter_search(self, qs, name, value):
        term = value.strip()
        if not term:
            return qs
        return qs.filter(Q(number__icontains=term) | Q(order__number__icontains=term))

    def filter_created_from(self, qs, name, value):
        return requested_between(qs, value, None)

    def filter_created_to(self, qs, name, value):
        return requested_between(qs, None, value)

    def filter_open(self, qs, name, value):
        statuses = sorted(rules.OPEN_STATUSES)
        return qs.filter(status__in=statuses) if value else qs.exclude(status__in=statuses)

    def filter_has_open_deadline(self, qs, name, value):
        exists = Exists(pending_deadlines())
        return qs.filter(exists) if value else qs.filter(~exists)


class ArbitrationFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=Arbitration.Status.choices,
        help_text=gettext_lazy("默认只列出未裁决的；?status=decided 查看已裁决的"),
    )
    merchant = django_filters.NumberFilter(field_name="merchant_id")
    decision = django_filters.ChoiceFilter(choices=Arbitration.Decision.choices)

    class Meta:
        model = Arbitration
        fields = ["status", "merchant", "decision"]
