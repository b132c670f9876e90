"""Admin for deadlines, calendar and sandbox clock (issue 3).

A board of what is overdue and due soon, the deadline list with filters, the holiday calendar
with a CSV import. Actions call the services (the logistics queue is in orders/admin.py).
"""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from aftersales import clock
from aftersales.casefile.timeline import subject_display
from aftersales.deadlines.calendar import (
    holiday_delete,
    holiday_save,
    holidays_import_bundled,
    holidays_import_csv,
)
from aftersales.deadlines.engine import SubjectRef, deadline_cancel
from aftersales.deadlines.models import Deadline, Holiday
from aftersales.deadlines.rules import display_instant
from aftersales.errors import DomainError
from aftersales.tenancy.actors import actor_for_user


def _with_subject_names(rows):
    rows = list(rows)
    for row in rows:
        row.subject_name = subject_display(row.subject_type, row.subject_id)
    return rows


class DueFilter(admin.SimpleListFilter):
    title = _("到期")
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [
            ("overdue", pgettext_lazy("deadline", "已过期")),
            ("24h", _("24 小时内")),
            ("7d", _("7 天内")),
        ]

    def queryset(self, request, queryset):
        now = clock.now()
        value = self.value()
        if value == "overdue":
            return queryset.filter(state=Deadline.State.PENDING, due_at__lte=now)
        if value in ("24h", "7d"):
            span = timedelta(hours=24) if value == "24h" else timedelta(days=7)
            return queryset.filter(
                state=Deadline.State.PENDING, due_at__gt=now, due_at__lte=now + span
            )
        return queryset


@admin.register(Deadline)
class DeadlineAdmin(admin.ModelAdmin):
    list_display = ["due", "kind", "subject", "merchant", "state", "what_happens", "attempts"]
    list_filter = [DueFilter, "state", "kind"]
    search_fields = ["kind", "subject_type", "=subject_id"]
    list_select_related = ["merchant"]
    date_hierarchy = "due_at"
    ordering = ["due_at", "id"]
    readonly_fields = [f.name for f in Deadline._meta.fields]
    actions = ["cancel_selected"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("到期时间"), ordering="due_at")
    def due(self, obj):
        """As every page writes a deadline: a window closing at 00:00 reads 24:00 of the day
        before (RULES.md "Time")."""
        return display_instant(obj.due_at)

    @admin.display(description=_("对象"))
    def subject(self, obj):
        return subject_display(obj.subject_type, obj.subject_id)

    @admin.display(description=_("到期时将"))
    def what_happens(self, obj):
        return obj.description

    @admin.action(description=_("取消所选期限"))
    def cancel_selected(self, request, queryset):
        actor = actor_for_user(request.user)
        count = 0
        for row in queryset.filter(state__in=[Deadline.State.PENDING, Deadline.State.PAUSED]):
            count += deadline_cancel(
                subject=SubjectRef(row.subject_type, row.subject_id, row.merchant_id),
                kind=row.kind.removesuffix(".reminder"),
                actor=actor,
                reason="admin",
            )
        self.message_user(request, _("已取消 %(n)d 条期限。") % {"n": count}, messages.SUCCESS)

    def get_urls(self):
        return [
            path(
                "board/",
                self.admin_site.admin_view(self.board_view),
                name="aftersales_deadline_board",
            ),
            *super().get_urls(),
        ]

    def board_view(self, request):
        """What is overdue and what falls due in the next 24 hours."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        now = clock.now()
        pending = Deadline.objects.filter(state=Deadline.State.PENDING).select_related("merchant")
        overdue = pending.filter(due_at__lte=now).order_by("due_at", "id")
        soon = pending.filter(due_at__gt=now, due_at__lte=now + timedelta(hours=24)).order_by(
            "due_at", "id"
        )
        context = {
            **self.admin_site.each_context(request),
            "title": _("期限看板"),
            "now": now,
            "opts": self.model._meta,
            "overdue_count": overdue.count(),
            "soon_count": soon.count(),
            "sections": [
                (_("已过期未执行"), _with_subject_names(overdue[:200])),
                (_("24 小时内到期"), _with_subject_names(soon[:200])),
            ],
        }
        return TemplateResponse(request, "admin/aftersales/deadline/board.html", context)


class HolidayImportForm(forms.Form):
    file = forms.FileField(label=_("CSV 文件"))


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ["date", "kind", "name", "updated_at"]
    list_filter = ["kind"]
    search_fields = ["name"]
    date_hierarchy = "date"
    actions = ["import_bundled"]
    exclude = ["updated_at"]

    def save_model(self, request, obj, form, change):
        # The service writes the row and its timeline event; the form only collects the fields.
        saved = holiday_save(
            day=form.cleaned_data["date"],
            kind=form.cleaned_data["kind"],
            name=form.cleaned_data.get("name", ""),
            holiday=obj if change else None,
            actor=actor_for_user(request.user),
        )
        obj.pk, obj.updated_at = saved.pk, saved.updated_at

    def delete_model(self, request, obj):
        holiday_delete(holiday=obj, actor=actor_for_user(request.user), reason="admin")

    def delete_queryset(self, request, queryset):
        actor = actor_for_user(request.user)
        for holiday in queryset.order_by("pk"):
            holiday_delete(holiday=holiday, actor=actor, reason="admin")

    @admin.action(description=_("导入随附的 2026 年节假日安排"))
    def import_bundled(self, request, queryset):
        counts = holidays_import_bundled(actor=actor_for_user(request.user))
        self.message_user(
            request, _("新增 %(created)d，更新 %(updated)d。") % counts, messages.SUCCESS
        )

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="aftersales_holiday_import",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request):
        """Upload a CSV (date,kind,name) into the calendar."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = HolidayImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                text = form.cleaned_data["file"].read().decode("utf-8-sig")
                counts = holidays_import_csv(
                    text=text,
                    actor=actor_for_user(request.user),
                    source=form.cleaned_data["file"].name,
                )
            except (DomainError, UnicodeDecodeError) as exc:
                form.add_error("file", str(exc))
            else:
                self.message_user(
                    request, _("新增 %(created)d，更新 %(updated)d。") % counts, messages.SUCCESS
                )
                return redirect("admin:aftersales_holiday_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": _("导入节假日 CSV"),
            "opts": self.model._meta,
            "form": form,
        }
        return TemplateResponse(request, "admin/aftersales/holiday/import.html", context)
