"""Staff console of the repairs app (Chinese): the 三包 catalog (every save through
``catalog_entry_save``, versioned), repair providers, warranty cards, repair orders and the
escalation queue (actions through ``repairs.services``)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import BooleanField, ExpressionWrapper
from django.http import Http404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from aftersales import clock
from aftersales.casefile.files import private_file_response
from aftersales.casefile.timeline import timeline_for
from aftersales.casefile.uploads import UploadRejected, check_upload
from aftersales.deadlines.engine import deadlines_for_many
from aftersales.deadlines.registry import deadline_description
from aftersales.errors import DomainError
from aftersales.tenancy.actors import actor_for_user

from . import citations, rules, selectors, services
from .api.filters import overdue_condition
from .models import (
    PartsWait,
    RepairEvidence,
    RepairOrder,
    RepairProvider,
    RepairProviderMember,
    SanbaoCatalogChange,
    SanbaoCatalogEntry,
    WarrantyCard,
    WarrantyEscalation,
)
from .seed import seed_text
from .uploads import LICENCE


def _labels(values, labels):
    """Stored codes (a list or one value) as their labels in the reader's language."""
    if not values:
        return "—"
    if isinstance(values, str):
        values = [values]
    return _("、").join(str(labels.get(v, v)) for v in values)


REMEDY_LABELS = {**rules.KIND_LABELS, "refund": _("退货退款")}
ESCALATION_DATE_LABELS = {
    "received_at": _("送修时间"),
    "limit_passed_at": _("期限届满"),
    "repairs_finished": _("已完成的维修"),
    "start_at": _("签收/安装完成"),
    "period_start": _("本期三包起算"),
    "closes_at": _("截止"),
}


class ChosenRemedyFilter(admin.SimpleListFilter):
    """The consumer's choice by its label (the stored value is a code)."""

    title = _("消费者选择")
    parameter_name = "chosen_remedy"

    def lookups(self, request, model_admin):
        return [(k, REMEDY_LABELS[k]) for k in ("exchange", "return")]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        return queryset.filter(chosen_remedy=self.value())


class RuleDisplay:
    """The 三包 rule of a repair or an escalation as staff read it: code and the law."""

    @admin.display(description=_("依据"), ordering="rule")
    def rule_cited(self, obj):
        rule = getattr(obj, "rule", None) or getattr(obj, "entitlement_rule", "")
        return citations.cite(rule, with_code=True) if rule else "—"


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
        return (
            _("、").join(
                str(
                    _("%(part)s %(months)s 个月")
                    % {"part": seed_text(p["name"]), "months": p["months"]}
                )
                for p in obj.main_parts or []
            )
            or "—"
        )

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
    list_display = ["entry", "version", "changed_at", "changed_by", "actor_display", "note_text"]
    list_filter = ["entry"]
    list_select_related = ["entry", "changed_by"]
    fields = [
        "entry",
        "version",
        "snapshot",
        "changes_text",
        "note_text",
        "changed_by",
        "actor_display",
        "changed_at",
    ]
    readonly_fields = fields

    @admin.display(description=_("操作方"), ordering="actor_label")
    def actor_display(self, obj):
        return _("系统") if obj.actor_label == "system" else obj.actor_label

    @admin.display(description=_("说明"))
    def note_text(self, obj):
        return seed_text(obj.note) or "—"

    @admin.display(description=_("变更字段"))
    def changes_text(self, obj):
        rows = [
            (SanbaoCatalogEntry._meta.get_field(name).verbose_name, c.get("from"), c.get("to"))
            for name, c in (obj.changed_fields or {}).items()
            if name in {f.name for f in SanbaoCatalogEntry._meta.get_fields()}
        ]
        return format_html_join("", "<div><strong>{}</strong> {} → {}</div>", rows) or "—"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# -- the staff console of warranty cards, providers, repairs and escalations (issue 5) ----------
#
# Rows are written by services only: the pages are read-only views and the actions call
# ``repairs.services`` (with the reason typed next to the action menu). Actions are offered to
# staff with the model's change permission; the services still decide (auditors get
# ``read_only_role``).


class ReasonActionForm(ActionForm):
    reason = forms.CharField(label=_("原因/说明"), required=False, max_length=300)


class RepairActionForm(ReasonActionForm):
    provider = forms.ModelChoiceField(
        label=_("派给服务商"),
        required=False,
        queryset=RepairProvider.objects.filter(status=RepairProvider.Status.APPROVED),
    )


class EscalationActionForm(ReasonActionForm):
    resolution = forms.ChoiceField(
        label=_("处理结果"),
        required=False,
        choices=[("", "—")] + WarrantyEscalation.Resolution.choices,
    )


class ServiceWrittenAdmin(admin.ModelAdmin):
    """View-only pages; changes go through the actions (services)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_act_permission(self, request):
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    def run_each(self, request, queryset, fn, label):
        """``fn(obj, actor)`` on every selected row, in pk order; one message per outcome."""
        actor = actor_for_user(request.user)
        done = 0
        for obj in queryset.order_by("pk"):
            try:
                fn(obj, actor)
            except DomainError as exc:
                self.message_user(request, f"{obj}：{exc.message}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(
                request,
                _("%(label)s：%(n)d 条已完成。") % {"label": label, "n": done},
                messages.SUCCESS,
            )
        return done


def _reason(request):
    return (request.POST.get("reason") or "").strip()


def _table(headers, rows):
    """A small HTML table for read-only panels (values escaped)."""
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows),
    )
    return format_html(
        '<table class="repairs-panel"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
        head,
        body,
    )


def _when(value):
    if not value:
        return "—"
    if hasattr(value, "tzinfo"):
        return f"{clock.local(value):%Y-%m-%d %H:%M}"
    return value.isoformat()


def timeline_panel(obj):
    rows = [
        (
            _when(e.occurred_at),
            e.verb,
            f"{e.from_status} → {e.to_status}" if e.to_status else "",
            e.actor_label,
            e.reason,
        )
        for e in timeline_for(obj).order_by("occurred_at", "id")
    ]
    if not rows:
        return "—"
    return _table([_("时间"), _("动作"), _("状态"), _("操作方"), _("原因")], rows)


def deadlines_panel(obj):
    rows = [
        (_when(d.due_at), d.kind, d.get_state_display(), deadline_description(d.kind))
        for d in deadlines_for_many([obj], include_reminders=True)
    ]
    if not rows:
        return _("无待执行的期限")
    return _table([_("到期"), _("类型"), _("状态"), _("到期时将")], rows)


# -- providers ------------------------------------------------------------------------------------


class ProviderMemberInline(admin.TabularInline):
    model = RepairProviderMember
    extra = 0
    can_delete = False
    fields = ["user", "role", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ProviderApplyForm(forms.ModelForm):
    regions_text = forms.CharField(
        label=_("服务地区"), required=False, help_text=_("省份，用逗号或空格分隔；留空为全国")
    )

    class Meta:
        model = RepairProvider
        fields = [
            "name",
            "licence_number",
            "licence_file",
            "licence_expires_on",
            "categories",
            "contact_name",
            "contact_phone",
            "contact_email",
            "address",
            "service_hours",
        ]
        widgets = {"licence_file": forms.ClearableFileInput(attrs={"accept": LICENCE.attr})}
        help_texts = {"licence_file": format_lazy(_("可上传{}。"), LICENCE.description)}

    def clean_licence_file(self):
        """A scan or a photo, checked for what it is (issue 14)."""
        upload = self.cleaned_data.get("licence_file")
        if not upload:
            return upload
        try:
            return check_upload(upload, accept=LICENCE, field_name="licence_file")
        except UploadRejected as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from None

    def clean_regions_text(self):
        text = (self.cleaned_data.get("regions_text") or "").replace("，", ",")
        return [r for r in text.replace(",", " ").split() if r]


@admin.register(RepairProvider)
class RepairProviderAdmin(ServiceWrittenAdmin):
    """Admission (standard 6.5.1): qualifications, review, suspension — with a reason."""

    list_display = [
        "name",
        "status",
        "licence_number",
        "licence_expires_on",
        "category_codes",
        "region_names",
        "applied_at",
        "reviewed_at",
        "status_reason",
    ]
    list_filter = ["status", "categories"]
    search_fields = ["name", "licence_number", "contact_name"]
    action_form = ReasonActionForm
    actions = ["approve", "reject", "suspend", "reinstate"]
    inlines = [ProviderMemberInline]
    readonly_fields = [
        "name",
        "status",
        "licence_number",
        "licence_link",
        "licence_expires_on",
        "category_codes",
        "region_names",
        "contact_name",
        "contact_phone",
        "contact_email",
        "address",
        "service_hours",
        "applied_at",
        "reviewed_by",
        "reviewed_at",
        "review_note",
        "suspended_at",
        "status_reason",
        "history",
    ]
    fieldsets = [
        (_("资质"), {"fields": ["name", "licence_number", "licence_link", "licence_expires_on"]}),
        (_("维修类目与地区"), {"fields": ["category_codes", "region_names"]}),
        (
            _("联系方式"),
            {
                "fields": [
                    "contact_name",
                    "contact_phone",
                    "contact_email",
                    "address",
                    "service_hours",
                ]
            },
        ),
        (
            _("准入"),
            {
                "fields": [
                    "status",
                    "applied_at",
                    "reviewed_by",
                    "reviewed_at",
                    "review_note",
                    "suspended_at",
                    "status_reason",
                ]
            },
        ),
        (_("记录"), {"fields": ["history"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("categories")

    def get_urls(self):
        return [
            path(
                "<int:pk>/licence/",
                self.admin_site.admin_view(self.licence_view),
                name="repairs_repairprovider_licence",
            ),
            *super().get_urls(),
        ]

    def licence_view(self, request, pk):
        """The licence file, for staff who may view providers (never served from /media/)."""
        provider = self.get_queryset(request).filter(pk=pk).first()
        if provider is None or not self.has_view_permission(request, provider):
            raise Http404
        return private_file_response(provider.licence_file)

    @admin.display(description=_("资质文件"))
    def licence_link(self, obj):
        if not obj.licence_file:
            return "—"
        url = reverse("admin:repairs_repairprovider_licence", args=[obj.pk])
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, _("查看"))

    def has_add_permission(self, request):
        return request.user.has_perm("repairs.add_repairprovider")

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ProviderApplyForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [
                (None, {"fields": ProviderApplyForm.Meta.fields[:5] + ["regions_text"]}),
                (_("联系方式"), {"fields": ProviderApplyForm.Meta.fields[5:]}),
            ]
        return self.fieldsets

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    @admin.display(description=_("维修类目"))
    def category_codes(self, obj):
        return _("、").join(seed_text(c.name) for c in obj.categories.all()) or "—"

    @admin.display(description=_("服务地区"))
    def region_names(self, obj):
        return _("、").join(obj.regions or []) or _("全国")

    @admin.display(description=_("时间线"))
    def history(self, obj):
        return timeline_panel(obj)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        provider = services.provider_apply(
            actor=actor_for_user(request.user),
            name=data["name"],
            licence_number=data["licence_number"],
            categories=list(data["categories"]),
            regions=data.get("regions_text") or [],
            licence_file=data.get("licence_file") or None,
            licence_expires_on=data.get("licence_expires_on"),
            contact_name=data.get("contact_name") or "",
            contact_phone=data.get("contact_phone") or "",
            contact_email=data.get("contact_email") or "",
            address=data.get("address") or "",
            service_hours=data.get("service_hours") or "",
        )
        obj.pk = provider.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        pass  # the service set the categories

    @admin.action(description=_("审核通过（准入）"), permissions=["act"])
    def approve(self, request, queryset):
        note = _reason(request)
        self.run_each(
            request,
            queryset,
            lambda p, actor: services.provider_review(
                provider=p, actor=actor, approve=True, note=note
            ),
            _("准入"),
        )

    @admin.action(description=_("驳回申请（须填写原因）"), permissions=["act"])
    def reject(self, request, queryset):
        note = _reason(request)
        self.run_each(
            request,
            queryset,
            lambda p, actor: services.provider_review(
                provider=p, actor=actor, approve=False, note=note
            ),
            _("驳回"),
        )

    @admin.action(description=_("暂停（须填写原因）"), permissions=["act"])
    def suspend(self, request, queryset):
        reason = _reason(request)
        self.run_each(
            request,
            queryset,
            lambda p, actor: services.provider_suspend(provider=p, actor=actor, reason=reason),
            _("暂停"),
        )

    @admin.action(description=_("恢复准入"), permissions=["act"])
    def reinstate(self, request, queryset):
        note = _reason(request)
        self.run_each(
            request,
            queryset,
            lambda p, actor: services.provider_reinstate(provider=p, actor=actor, note=note),
            _("恢复"),
        )


# -- warranty cards --------------------------------------------------------------------------------


class CardRepairInline(admin.TabularInline):
    model = RepairOrder
    fk_name = "card"
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ["number", "status", "provider", "received_at", "finished_at", "result", "is_paid"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WarrantyCard)
class WarrantyCardAdmin(ServiceWrittenAdmin):
    """Cards with their end dates per part and the engine's answer ("why can I only repair?")."""

    list_display = [
        "number",
        "product_name",
        "serial_number",
        "order_number",
        "merchant",
        "consumer_masked",
        "status",
        "starts_at",
        "catalog_entry",
    ]
    list_filter = ["status", "catalog_entry", "merchant", "needs_installation"]
    search_fields = ["number", "serial_number", "order_line__order__number", "product_name"]
    list_select_related = ["merchant", "consumer", "catalog_entry", "order_line__order"]
    show_full_result_count = False
    inlines = [CardRepairInline]
    fields = [
        "number",
        "status",
        "product_name",
        "serial_number",
        "order_number",
        "unit_index",
        "merchant",
        "consumer_masked",
        "unit_price",
        "catalog_entry",
        "catalog_version",
        "signed_at",
        "installed_at",
        "starts_at",
        "replaces",
        "exchanged_at",
        "returned_at",
        "misuse_label",
        "alternative_refused",
        "pending_remedy_label",
        "coverage_panel",
        "entitlement_panel",
        "history",
    ]
    readonly_fields = fields

    @admin.display(description=_("不实行三包的原因"))
    def misuse_label(self, obj):
        return _labels(obj.misuse_reasons, rules.MISUSE_LABELS)

    @admin.display(description=_("已选补救"))
    def pending_remedy_label(self, obj):
        return _labels(obj.pending_remedy, REMEDY_LABELS)

    @admin.display(description=_("订单号"))
    def order_number(self, obj):
        return obj.order_line.order.number

    @admin.display(description=_("消费者"))
    def consumer_masked(self, obj):
        return obj.consumer.masked_name

    def _answer(self, obj):
        # Both panels show the same answer: computed once per card shown.
        if getattr(obj, "admin_entitlements", None) is None:
            obj.admin_entitlements = selectors.card_entitlements(card=obj)
        return obj.admin_entitlements

    @admin.display(description=_("三包期（整机与主要部件）"))
    def coverage_panel(self, obj):
        rows = [
            (
                c.part or _("整机"),
                c.months,
                c.base_last_day.isoformat(),
                c.extension_days,
                c.last_day.isoformat(),
            )
            for c in self._answer(obj).coverage
        ]
        return _table(
            [_("部件"), _("月数"), _("原到期日"), _("维修顺延（日）"), _("三包至（含）")], rows
        )

    @admin.display(description=_("现在报修可获得的补救"))
    def entitlement_panel(self, obj):
        answer = self._answer(obj)
        rows = [
            (
                rules.KIND_LABELS[r.kind],
                citations.cite(r.rule, with_code=True),
                r.explanation,
                r.refund if r.refund is not None else (r.refund_error or "—"),
            )
            for r in answer.remedies
        ]
        return format_html(
            "<p><strong>{}</strong></p>{}",
            answer.summary,
            _table([_("补救"), _("依据"), _("说明"), _("退款金额")], rows),
        )

    @admin.display(description=_("时间线"))
    def history(self, obj):
        return timeline_panel(obj)


# -- repair orders --------------------------------------------------------------------------------


class OverdueFilter(admin.SimpleListFilter):
    title = _("超期")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("已超期（G5/G6）")), ("no", _("未超期"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(overdue_condition(clock.now()))
        if self.value() == "no":
            return queryset.exclude(overdue_condition(clock.now()))
        return queryset


class PartsWaitInline(admin.TabularInline):
    model = PartsWait
    extra = 0
    can_delete = False
    fields = ["started_at", "ended_at", "parts", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class EvidenceInline(PartsWaitInline):
    model = RepairEvidence
    fields = ["kind", "file_link", "caption", "actor_label", "uploaded_at"]
    readonly_fields = fields

    @admin.display(description=_("文件"))
    def file_link(self, obj):
        if obj.pk is None or not obj.file:
            return "—"
        url = reverse("admin:repairs_repairorder_evidence", args=[obj.repair_id, obj.pk])
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, _("查看"))


@admin.register(RepairOrder)
class RepairOrderAdmin(RuleDisplay, ServiceWrittenAdmin):
    """Every repair: filters by status, provider, merchant and overdue; timeline and deadlines on
    the page; assignment, cancellation and closing through the services."""

    list_display = [
        "number",
        "status",
        "product_name",
        "merchant",
        "provider",
        "consumer_masked",
        "rule_cited",
        "is_paid",
        "fault_reported_at",
        "received_at",
        "late",
    ]
    list_filter = [OverdueFilter, "status", "provider", "merchant", "service_mode", "is_paid"]
    search_fields = ["number", "card__number", "card__serial_number", "order_line__order__number"]
    list_select_related = ["merchant", "provider", "consumer", "card"]
    show_full_result_count = False
    date_hierarchy = "fault_reported_at"
    action_form = RepairActionForm
    actions = ["assign", "cancel", "close"]
    inlines = [PartsWaitInline, EvidenceInline]
    fields = [
        "number",
        "status",
        "card",
        "merchant",
        "provider",
        "consumer_masked",
        "fault_description",
        "service_mode",
        "rule_cited",
        "is_paid",
        "paid_reason",
        "fault_reported_at",
        "assigned_at",
        "received_at",
        "diagnosed_at",
        "diagnosis",
        "repairing_at",
        "finished_at",
        "result",
        "result_note",
        "parts_replaced_text",
        "labour_fee",
        "parts_fee",
        "returned_at",
        "parts_wait_days",
        "reopened_from",
        "reopened_at",
        "pending_deadlines",
        "history",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(is_late=ExpressionWrapper(overdue_condition(clock.now()), BooleanField()))
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/evidence/<int:evidence_pk>/",
                self.admin_site.admin_view(self.evidence_view),
                name="repairs_repairorder_evidence",
            ),
            *super().get_urls(),
        ]

    def evidence_view(self, request, pk, evidence_pk):
        """An evidence file, for staff who may view the repair (never served from /media/)."""
        repair = self.get_queryset(request).filter(pk=pk).first()
        if repair is None or not self.has_view_permission(request, repair):
            raise Http404
        item = repair.evidence.filter(pk=evidence_pk).first()
        if item is None:
            raise Http404
        return private_file_response(item.file, filename=item.original_name)

    @admin.display(description=_("更换部件"))
    def parts_replaced_text(self, obj):
        return (
            _("、").join(
                str(_("%(part)s × %(n)s") % {"part": p.get("name", ""), "n": p.get("quantity", 1)})
                for p in obj.parts_replaced or []
            )
            or "—"
        )

    @admin.display(description=_("商品"))
    def product_name(self, obj):
        return obj.card.product_name

    @admin.display(description=_("消费者"))
    def consumer_masked(self, obj):
        return obj.consumer.masked_name

    @admin.display(description=_("超期"), boolean=True)
    def late(self, obj):
        return bool(getattr(obj, "is_late", False))

    @admin.display(description=_("待执行的期限"))
    def pending_deadlines(self, obj):
        return deadlines_panel(obj)

    @admin.display(description=_("时间线"))
    def history(self, obj):
        return timeline_panel(obj)

    @admin.action(description=_("派单给所选服务商"), permissions=["act"])
    def assign(self, request, queryset):
        provider_id = request.POST.get("provider")
        provider = RepairProvider.objects.filter(pk=provider_id).first() if provider_id else None
        if provider is None:
            self.message_user(request, _("请先在动作旁选择服务商。"), messages.ERROR)
            return
        note = _reason(request)
        self.run_each(
            request,
            queryset,
            lambda r, actor: services.repair_assign(
                repair=r, provider=provider, actor=actor, note=note
            ),
            _("派单"),
        )

    @admin.action(description=_("取消维修单（送修前）"), permissions=["act"])
    def cancel(self, request, queryset):
        reason = _reason(request)
        self.run_each(
            request,
            queryset,
            lambda r, actor: services.repair_cancel(repair=r, actor=actor, reason=reason),
            _("取消"),
        )

    @admin.action(description=_("关闭维修单"), permissions=["act"])
    def close(self, request, queryset):
        reason = _reason(request)
        self.run_each(
            request,
            queryset,
            lambda r, actor: services.repair_close(repair=r, actor=actor, reason=reason),
            _("关闭"),
        )


# -- the escalation queue -------------------------------------------------------------------------


@admin.register(WarrantyEscalation)
class WarrantyEscalationAdmin(RuleDisplay, ServiceWrittenAdmin):
    """The platform's 三包 escalation queue (G4, G5, G6), oldest first; resolve with a result."""

    list_display = [
        "raised_at",
        "age_days",
        "rule_cited",
        "status",
        "card",
        "repair",
        "merchant",
        "consumer_masked",
        "chosen_label",
        "resolution",
    ]
    list_filter = ["status", "rule", "merchant", ChosenRemedyFilter]
    search_fields = ["card__number", "repair__number", "card__serial_number"]
    list_select_related = ["card", "repair", "merchant", "consumer"]
    ordering = ["raised_at", "id"]
    action_form = EscalationActionForm
    actions = ["resolve"]
    fields = [
        "rule_cited",
        "status",
        "card",
        "repair",
        "merchant",
        "consumer_masked",
        "granted_label",
        "cost_label",
        "explanation",
        "data_text",
        "raised_at",
        "chosen_label",
        "return_request_id",
        "resolution",
        "resolution_note",
        "resolved_label",
        "resolved_at",
        "history",
    ]
    readonly_fields = fields

    def changelist_view(self, request, extra_context=None):
        # The queue opens on the open cases; "全部" in the filter shows the resolved ones too.
        if "status__exact" not in request.GET and not request.GET.get("_changelist_filters"):
            query = request.GET.copy()
            if not query:
                query["status__exact"] = WarrantyEscalation.Status.OPEN
                request.GET = query
                request.META["QUERY_STRING"] = query.urlencode()
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("可选补救"))
    def granted_label(self, obj):
        return _labels(obj.granted_remedies, REMEDY_LABELS)

    @admin.display(description=_("费用承担"))
    def cost_label(self, obj):
        return _labels(obj.cost_borne_by, rules.PAYER_LABELS)

    @admin.display(description=_("消费者选择"))
    def chosen_label(self, obj):
        return _labels(obj.chosen_remedy, REMEDY_LABELS)

    @admin.display(description=_("判定日期"))
    def data_text(self, obj):
        items = [
            (
                str(ESCALATION_DATE_LABELS.get(k, k)),
                ", ".join(map(str, v)) if isinstance(v, list) else v,
            )
            for k, v in (obj.data or {}).items()
        ]
        return format_html_join("", "<div><strong>{}</strong> {}</div>", items) or "—"

    @admin.display(description=_("已等待（日）"))
    def age_days(self, obj):
        return (clock.now() - obj.raised_at).days

    @admin.display(description=_("消费者"))
    def consumer_masked(self, obj):
        return obj.consumer.masked_name

    @admin.display(description=_("时间线"))
    def history(self, obj):
        return timeline_panel(obj)

    @admin.action(description=_("处理所选案件（选择处理结果并填写说明）"), permissions=["act"])
    def resolve(self, request, queryset):
        resolution = request.POST.get("resolution") or ""
        if not resolution:
            self.message_user(request, _("请先在动作旁选择处理结果。"), messages.ERROR)
            return
        note = _reason(request)
        self.run_each(
            request,
            queryset,
            lambda e, actor: services.escalation_resolve(
                escalation=e, actor=actor, resolution=resolution, note=note
            ),
            _("处理"),
        )
