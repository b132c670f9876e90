"""Admin of the 三包 catalog (Chinese); every save goes through ``catalog_entry_save``."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from aftersales.actors import actor_for_user

from . import services
from .models import SanbaoCatalogChange, SanbaoCatalogEntry


def parts_to_text(parts):
    return "\n".join(f"{p['name']} {p['months']}" for p in parts or [])


def text_to_parts(text):
    """One part a line: ``名称 月数`` (e.g. ``显示屏 36``)."""
    parts = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        name, _sep, months = line.rpartition(" ")
        if not name.strip() or not months.isdigit() or int(months) <= 0:
            raise forms.ValidationError(
                _("第 %(n)s 行应为“部件名称 月数”，如“显示屏 36”。"), params={"n": number}
            )
        parts.append({"name": name.strip(), "months": int(months)})
    return parts


class SanbaoCatalogEntryForm(forms.ModelForm):
    parts_text = forms.CharField(
        label=_("主要部件"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("每行一个部件：名称 月数，如“显示屏 36”"),
    )

    class Meta:
        model = SanbaoCatalogEntry
        fields = [
            "code",
            "name",
            "whole_unit_months",
            "daily_depreciation_rate",
            "parts_shortage_limit_days",
            "special_cases",
            "service_standard",
        ]

    note = forms.CharField(label=_("变更说明"), required=False, max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["parts_text"].initial = parts_to_text(self.instance.main_parts)
            self.fields["code"].disabled = True

    def clean_parts_text(self):
        return text_to_parts(self.cleaned_data.get("parts_text"))


class SanbaoCatalogChangeInline(admin.TabularInline):
    model = SanbaoCatalogChange
    extra = 0
    can_delete = False
    fields = ["version", "changed_at", "changed_by", "actor_label", "changed_fields", "note"]
    readonly_fields = fields
    ordering = ["-version"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SanbaoCatalogEntry)
class SanbaoCatalogEntryAdmin(admin.ModelAdmin):
    form = SanbaoCatalogEntryForm
    list_display = [
        "code",
        "name",
        "whole_unit_months",
        "parts_summary",
        "rate_display",
        "parts_shortage_limit_days",
        "version",
        "updated_at",
    ]
    search_fields = ["code", "name"]
    readonly_fields = ["version", "updated_at"]
    inlines = [SanbaoCatalogChangeInline]
    fieldsets = [
        (None, {"fields": ["code", "name", "whole_unit_months", "parts_text"]}),
        (
            _("退换规则"),
            {"fields": ["daily_depreciation_rate", "parts_shortage_limit_days"]},
        ),
        (_("说明"), {"fields": ["special_cases", "service_standard", "note"]}),
        (_("版本"), {"fields": ["version", "updated_at"]}),
    ]

    @admin.display(description=_("主要部件"))
    def parts_summary(self, obj):
        return "、".join(f"{p['name']} {p['months']} 个月" for p in obj.main_parts or []) or "—"

    @admin.display(description=_("日折旧率"))
    def rate_display(self, obj):
        if obj.daily_depreciation_rate is None:
            return _("未知（不计算折旧退货）")
        return f"{obj.daily_depreciation_rate}%"

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        # The form has validated every field; the service re-checks and records the change.
        entry, _change = services.catalog_entry_save(
            code=obj.code,
            actor=actor_for_user(request.user),
            name=data["name"],
            whole_unit_months=data["whole_unit_months"],
            main_parts=data["parts_text"],
            special_cases=data.get("special_cases") or "",
            service_standard=data.get("service_standard") or "",
            daily_depreciation_rate=data.get("daily_depreciation_rate"),
            parts_shortage_limit_days=data["parts_shortage_limit_days"],
            note=data.get("note") or "",
        )
        obj.pk = entry.pk
        obj.refresh_from_db()


@admin.register(SanbaoCatalogChange)
class SanbaoCatalogChangeAdmin(admin.ModelAdmin):
    list_display = ["entry", "version", "changed_at", "changed_by", "actor_label", "note"]
    list_filter = ["entry"]
    list_select_related = ["entry", "changed_by"]
    readonly_fields = [
        "entry",
        "version",
        "snapshot",
        "changed_fields",
        "note",
        "changed_by",
        "actor_label",
        "changed_at",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
