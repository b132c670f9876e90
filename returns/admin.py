"""Staff console for returns (standard 6.3, 6.4.2.1): the daily request list, refunds and the
express-refund ledger (read only), the arbitration queue, and return analytics.

Nothing here writes a row itself: every action calls one service of ``returns.services``
(approve, reject, refund, override, third-party inspection, arbitration decision), which checks
the actor, records the timeline event and notifies. Consumers show masked (RULES.md D2).

Who sees what: agents, managers and auditors see every request; mediators only the requests
granted to them with django-guardian (``returns.view_returnrequest``), and everything hanging
off them. Agents and managers act; auditors read; a granted mediator may ask for inspection and
decide the arbitration (the services say so).
"""

from collections import defaultdict
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Q, Subquery
from django.http import Http404
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from aftersales import clock
from aftersales.casefile.files import private_file_response
from aftersales.casefile.models import TimelineEvent
from aftersales.casefile.timeline import subject_label, timeline_verb_label
from aftersales.deadlines.engine import deadlines_for_many
from aftersales.deadlines.models import Deadline
from aftersales.deadlines.registry import REMINDER_SUFFIX, deadline_description
from aftersales.errors import DomainError
from aftersales.tenancy.actors import actor_for_user
from aftersales.tenancy.scope import scoped

from . import analytics, selectors, services
from .citations import rule_label
from .models import (
    Arbitration,
    ExchangeDifferencePayment,
    ExpressRefundLedgerEntry,
    InspectionRequest,
    Refund,
    RefundPart,
    ReturnAddress,
    ReturnEvidence,
    ReturnRequest,
    ShippingInsuranceClaim,
    ShippingReimbursement,
)
from .services import payments
from .views_analytics import analytics_page

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".gif")
RETURN_SUBJECT = subject_label(ReturnRequest)
STATUS_LABELS = {
    subject_label(model): dict(model.Status.choices)
    for model in (ReturnRequest, Arbitration, Refund)
}


def _actor(request):
    return actor_for_user(request.user)


def _local(instant):
    return clock.local(instant).strftime("%Y-%m-%d %H:%M") if instant else "—"


def _age(since, now):
    """ "3 天 4 小时" since ``since``."""
    delta = max(now - since, timedelta(0))
    days, hours = delta.days, delta.seconds // 3600
    if days:
        return gettext("%(days)s 天 %(hours)s 小时") % {"days": days, "hours": hours}
    minutes = delta.seconds % 3600 // 60
    return gettext("%(hours)s 小时 %(minutes)s 分") % {"hours": hours, "minutes": minutes}


def visible_requests(actor):
    """The requests ``actor`` may see in the console (mediators: the granted ones)."""
    return scoped(ReturnRequest.objects.all(), actor, grant_perm=services.RETURN_GRANT)


def case_timeline(requests):
    """The whole timeline of each request — its own events and those of its arbitration and
    refund — as ``{request_id: [TimelineEvent, ...]}``, oldest first, in one query."""
    requests = list(requests)
    if not requests:
        return {}
    owner = {}
    match = Q(pk__in=[])
    for req in requests:
        owner[(RETURN_SUBJECT, req.pk)] = req.pk
        for label, related in (
            (subject_label(Arbitration), selectors.arbitration_of(req)),
            (subject_label(Refund), selectors.refund_of(req)),
        ):
            if related is not None:
                owner[(label, related.pk)] = req.pk
    for label in {key[0] for key in owner}:
        ids = [pk for (lbl, pk) in owner if lbl == label]
        match |= Q(subject_type=label, subject_id__in=ids)
    out = defaultdict(list)
    events = TimelineEvent.objects.filter(match).order_by("occurred_at", "id")
    for event in events.select_related("actor_user"):
        labels = STATUS_LABELS.get(event.subject_type, {})
        event.from_label = labels.get(event.from_status, event.from_status)
        event.to_label = labels.get(event.to_status, event.to_status)
        event.verb_label = timeline_verb_label(event.verb)
        out[owner[(event.subject_type, event.subject_id)]].append(event)
    return out


def pending_deadlines(requests):
    """``{request_id: [Deadline, ...]}``: the open deadlines of each request, soonest first, in
    one query (no reminders)."""
    out = defaultdict(list)
    for deadline in deadlines_for_many(list(requests)):
        out[deadline.subject_id].append(deadline)
    return out


def evidence_html(rows):
    """Evidence as thumbnails (images) or links (video, reports), with party and note."""
    for row in rows:
        row.is_image = is_image(row)
    return render_to_string("admin/returns/_evidence.html", {"evidence": rows})


def evidence_sides(evidence):
    """Evidence split by side: ``{"consumer": [...], "merchant": [...], "other": [...]}``
    (inspectors' reports and the platform's under "other"), images marked."""
    sides = {"consumer": [], "merchant": [], "other": []}
    for row in evidence:
        row.is_image = is_image(row)
        sides[row.party if row.party in sides else "other"].append(row)
    return sides


def is_image(evidence):
    name = (evidence.file.name or "").lower()
    return bool(evidence.file) and name.endswith(IMAGE_EXTENSIONS)


# -- shared admin behaviour -------------------------------------------------------------------


class RequestScopedAdmin(admin.ModelAdmin):
    """Rows written only by the services, scoped to the requests the user may see.

    ``request_path``: the lookup from the model to its ``ReturnRequest`` (``""`` for the request
    itself). Change permission is only consulted without an object (for the actions); the object
    pages are read-only.
    """

    request_path = "request"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        actor = _actor(request)
        if actor.platform_read:
            return qs
        lookup = f"{self.request_path}__in" if self.request_path else "pk__in"
        return qs.filter(**{lookup: visible_requests(actor).values("pk")})

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    @admin.display(description=_("商家"), ordering="merchant__name")
    def merchant_name(self, obj):
        return obj.merchant.name


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# -- staff actions: one service each, reasons through an intermediate form ------------------------


class ApproveForm(forms.Form):
    note = forms.CharField(label=_("备注"), max_length=500, required=False)


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("拒绝理由"), max_length=500, widget=forms.Textarea(attrs={"rows": 3, "cols": 60})
    )


class RefundForm(forms.Form):
    amount = forms.DecimalField(
        label=_("退款金额（元）"),
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=2,
        help_text=_("留空：按申请金额全额退款，原路退回（R7）。"),
    )
    confirm = forms.BooleanField(label=_("确认发起退款"), required=True)


class OverrideForm(forms.Form):
    to_status = forms.ChoiceField(label=_("调整为状态"), choices=ReturnRequest.Status.choices)
    reason = forms.CharField(
        label=_("干预原因"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("将记入时间线，并通知消费者和商家。"),
    )
    confirm = forms.BooleanField(
        label=_("我确认跳过正常流程，直接调整状态"),
        required=True,
        help_text=_("人工干预会取消或重新安排相关期限；调整为“退款中”会发起退款。"),
    )


STAFF_ACTIONS = {
    "approve": (_("同意申请"), ApproveForm),
    "reject": (_("拒绝申请（填写理由）"), RejectForm),
    "refund": (_("发起退款"), RefundForm),
    "override": (_("人工干预：调整状态（填写原因）"), OverrideForm),
}


def run_staff_action(name, obj, actor, data):
    """Call the one service behind the staff action ``name`` for request ``obj``."""
    if name == "approve":
        note = data.get("note") or gettext("平台处理")
        return services.return_request_approve(request=obj, actor=actor, note=note)
    if name == "reject":
        return services.return_request_reject(request=obj, actor=actor, reason=data["reason"])
    if name == "refund":
        return services.return_refund(request=obj, actor=actor, amount=data.get("amount"))
    if name == "override":
        return services.return_override(
            request=obj, to_status=data["to_status"], reason=data["reason"], actor=actor
        )
    raise KeyError(name)


class MerchantFilter(admin.RelatedFieldListFilter):
    """The merchant filter, titled in Chinese (the models' ``merchant`` fields have no label)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = _("商家")


MERCHANT_FILTER = ("merchant", MerchantFilter)


class DeadlineDueFilter(admin.SimpleListFilter):
    title = _("最近期限")
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [("overdue", _("已过期")), ("24h", _("24 小时内")), ("none", _("无待办期限"))]

    def queryset(self, request, queryset):
        now = clock.now()
        if self.value() == "overdue":
            return queryset.filter(nearest_due__lte=now)
        if self.value() == "24h":
            return queryset.filter(nearest_due__gt=now, nearest_due__lte=now + timedelta(hours=24))
        if self.value() == "none":
            return queryset.filter(nearest_due__isnull=True)
        return queryset


EVIDENCE_STAGES = {
    "request": _("申请"),
    "reject": _("拒绝"),
    "receive": _("验货"),
    "arbitration": _("仲裁"),
}
"""The stages ``evidence_save`` records besides a request status (shown instead of the raw code)."""


def evidence_stage_label(stage):
    """The stage an evidence row was added at, as people read it (a stage or a request status)."""
    if not stage:
        return "—"
    if stage in EVIDENCE_STAGES:
        return EVIDENCE_STAGES[stage]
    if stage in ReturnRequest.Status.values:
        return ReturnRequest.Status(stage).label
    return stage


class EvidenceStageFilter(admin.SimpleListFilter):
    title = _("环节")
    parameter_name = "stage"

    def lookups(self, request, model_admin):
        stages = model_admin.get_queryset(request).order_by().values_list("stage", flat=True)
        return [(s, evidence_stage_label(s)) for s in sorted(set(stages)) if s]

    def queryset(self, request, queryset):
        return queryset.filter(stage=self.value()) if self.value() else queryset


class EvidenceInline(ReadOnlyInline):
    model = ReturnEvidence
    fields = ["created_at", "party", "kind", "preview", "note", "stage_label", "uploaded_by_label"]
    readonly_fields = fields

    @admin.display(description=_("环节"))
    def stage_label(self, obj):
        return evidence_stage_label(obj.stage)

    @admin.display(description=_("文件"))
    def preview(self, obj):
        return evidence_html([obj])


class LedgerInline(ReadOnlyInline):
    model = ExpressRefundLedgerEntry
    fields = [
        "occurred_at",
        "kind",
        "amount",
        "settlement_status",
        "attempts",
        "failure_reason",
        "note",
        "actor_label",
    ]
    readonly_fields = fields


def _pending_subquery(field):
    rows = Deadline.objects.filter(
        subject_type=RETURN_SUBJECT,
        subject_id=OuterRef("pk"),
        state=Deadline.State.PENDING,
    ).exclude(kind__endswith=REMINDER_SUFFIX)
    return Subquery(rows.order_by("due_at", "id").values(field)[:1])


@admin.register(ReturnRequest)
class ReturnRequestAdmin(RequestScopedAdmin):
    """The daily list of return, exchange and refund requests."""

    request_path = ""
    list_display = [
        "number",
        "status",
        "kind",
        "reason",
        "merchant_name",
        "consumer_masked",
        "amount",
        "nearest_deadline",
        "express",
        "requested_at",
    ]
    list_filter = [
        DeadlineDueFilter,
        "status",
        "kind",
        "reason",
        "reason_kind",
        "express",
        "origin",
        MERCHANT_FILTER,
    ]
    search_fields = ["=number", "=order__number", "=return_tracking_number"]
    search_help_text = _("售后单号、订单号或退货运单号")
    list_select_related = ["merchant", "consumer__user", "order"]
    date_hierarchy = "requested_at"
    show_full_result_count = False
    inlines = [EvidenceInline, LedgerInline]
    actions = ["approve_selected", "reject_selected", "refund_selected", "override_selected"]
    fieldsets = [
        (
            _("申请"),
            {
                "fields": [
                    "number",
                    "status",
                    "status_reason",
                    "order",
                    "line",
                    "merchant_name",
                    "consumer_masked",
                    "origin",
                    "kind",
                    "reason",
                    "reason_kind",
                    "quantity",
                    "amount",
                    "description",
                    "option",
                    "rule_basis",
                    "explanation",
                ]
            },
        ),
        (
            _("寄回与验货"),
            {
                "fields": [
                    "shipping_payer",
                    "shipping_explanation",
                    "insured",
                    "return_carrier",
                    "return_tracking_number",
                    "return_first_scan_at",
                    "return_signed_at",
                    "inspection_intact",
                    "inspection_note",
                    "exchange_sku",
                    "price_difference",
                    "replacement_shipment",
                ]
            },
        ),
        (_("待办期限"), {"fields": ["deadlines_table"]}),
        (_("退款"), {"fields": ["express", "refund_table"]}),
        (_("仲裁"), {"fields": ["arbitration_summary"]}),
        (_("时间线"), {"fields": ["timeline_table"]}),
        (
            _("时间"),
            {
                "classes": ["collapse"],
                "fields": [
                    "requested_at",
                    "approved_at",
                    "rejected_at",
                    "return_shipped_at",
                    "received_at",
                    "disputed_at",
                    "escalated_at",
                    "refunding_at",
                    "refunded_at",
                    "exchange_shipped_at",
                    "completed_at",
                    "closed_at",
                    "cancelled_at",
                ],
            },
        ),
    ]

    def get_readonly_fields(self, request, obj=None):
        return [f for group in self.fieldsets for f in group[1]["fields"]]

    @admin.display(description=_("依据规则"))
    def rule_basis(self, obj):
        """Staff read the code and the law or platform rule it stands for."""
        return rule_label(obj.rule) or "—"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                nearest_due=_pending_subquery("due_at"), nearest_kind=_pending_subquery("kind")
            )
        )

    @admin.display(description=_("消费者"))
    def consumer_masked(self, obj):
        return obj.consumer.masked_name or obj.consumer.user.username

    @admin.display(description=_("最近期限"), ordering="nearest_due")
    def nearest_deadline(self, obj):
        due = getattr(obj, "nearest_due", None)
        if due is None:
            return "—"
        late = due <= clock.now()
        return format_html(
            '<span class="{}" title="{}">{}{}</span>',
            "errornote" if late else "",
            deadline_description(obj.nearest_kind),
            _local(due),
            " ⚠" if late else "",
        )

    @admin.display(description=_("待办期限"))
    def deadlines_table(self, obj):
        rows = pending_deadlines([obj]).get(obj.pk, [])
        return render_to_string(
            "components/_deadlines.html", {"deadlines": rows, "layout": "table"}
        )

    @admin.display(description=_("退款分项（原路退回 R7）"))
    def refund_table(self, obj):
        refund = selectors.refund_of(obj)
        parts = list(refund.parts.select_related("tender")) if refund else []
        return render_to_string("admin/returns/_refund.html", {"refund": refund, "parts": parts})

    @admin.display(description=_("仲裁"))
    def arbitration_summary(self, obj):
        arbitration = selectors.arbitration_of(obj)
        if arbitration is None:
            return "—"
        url = reverse("admin:returns_arbitration_review", args=[arbitration.pk])
        return format_html(
            '{} · {} <a class="button" href="{}">{}</a>',
            arbitration.get_status_display(),
            arbitration.get_decision_display() or "",
            url,
            _("查看仲裁"),
        )

    @admin.display(description=_("完整时间线"))
    def timeline_table(self, obj):
        events = case_timeline([obj]).get(obj.pk, [])
        return render_to_string("components/_timeline.html", {"events": events, "layout": "table"})

    # -- actions ------------------------------------------------------------------------------

    def _apply(self, request, name, objects, data):
        actor = _actor(request)
        done = 0
        for obj in objects:
            try:
                run_staff_action(name, obj, actor, data)
            except DomainError as exc:
                self.message_user(request, f"{obj.number}：{exc.message}", messages.ERROR)
            else:
                done += 1
        if done:
            label = STAFF_ACTIONS[name][0]
            self.message_user(
                request, _("%(action)s：已处理 %(n)d 单。") % {"action": label, "n": done}
            )
        return done

    def _action_page(self, request, name, objects, *, single=None):
        """The intermediate page of action ``name`` (reason, amount, confirmation); applies it
        when the form is posted back valid. Returns a response, or None when done."""
        label, form_class = STAFF_ACTIONS[name]
        form = form_class(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            self._apply(request, name, objects, form.cleaned_data)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": label,
            "opts": self.model._meta,
            "form": form,
            "objects": objects,
            "action": f"{name}_selected",
            "single": single,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/returns/action_form.html", context)

    def _bulk(self, request, queryset, name):
        return self._action_page(request, name, list(queryset.order_by("pk")[:100]))

    @admin.action(description=_("同意所选申请"), permissions=["change"])
    def approve_selected(self, request, queryset):
        return self._bulk(request, queryset, "approve")

    @admin.action(description=_("拒绝所选申请（填写理由）"), permissions=["change"])
    def reject_selected(self, request, queryset):
        return self._bulk(request, queryset, "reject")

    @admin.action(description=_("为所选申请发起退款"), permissions=["change"])
    def refund_selected(self, request, queryset):
        return self._bulk(request, queryset, "refund")

    @admin.action(description=_("人工干预：调整状态（填写原因）"), permissions=["change"])
    def override_selected(self, request, queryset):
        return self._bulk(request, queryset, "override")

    def get_urls(self):
        return [
            path(
                "<int:pk>/act/<str:name>/",
                self.admin_site.admin_view(self.act_view),
                name="returns_returnrequest_act",
            ),
            path(
                "analytics/",
                self.admin_site.admin_view(self.analytics_view),
                name="returns_returnrequest_analytics",
            ),
            *super().get_urls(),
        ]

    def act_view(self, request, pk, name):
        """One staff action on one request, from the buttons of its page."""
        if name not in STAFF_ACTIONS or not self.has_change_permission(request):
            raise PermissionDenied
        obj = self.get_object(request, str(pk))
        if obj is None:
            raise PermissionDenied
        response = self._action_page(request, name, [obj], single=obj)
        if response is None:
            return redirect("admin:returns_returnrequest_change", obj.pk)
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "staff_actions": [(n, label) for n, (label, _f) in STAFF_ACTIONS.items()]
            if self.has_change_permission(request)
            else [],
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def analytics_view(self, request):
        """Return analytics for platform readers (standard 6.4.2.1), with CSV export."""
        actor = _actor(request)
        if not actor.platform_read:
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": _("退货分析"),
            "opts": self.model._meta,
        }
        return analytics_page(
            request,
            actor=actor,
            template="admin/returns/analytics.html",
            context=context,
            exports=analytics.REPORTS,
            merchants=True,
        )


# -- arbitration ------------------------------------------------------------------------------


class DecideForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("裁决"), choices=Arbitration.Decision.choices, widget=forms.RadioSelect
    )
    amount = forms.DecimalField(
        label=_("部分退款金额（元）"),
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=2,
        help_text=_("仅“部分退款”需要填写。"),
    )
    reason = forms.CharField(
        label=_("裁决理由"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 70}),
        help_text=_("裁决对本案具有约束力（R19），理由将通知双方。"),
    )

    def clean(self):
        data = super().clean()
        if data.get("decision") == "refund_partial" and data.get("amount") is None:
            self.add_error("amount", _("部分退款需要填写金额。"))
        if data.get("decision") != "refund_partial":
            data["amount"] = None
        return data


@admin.register(Arbitration)
class ArbitrationAdmin(RequestScopedAdmin):
    """Arbitrations (R19). The queue and the review page are where staff work on them."""

    list_display = [
        "request",
        "status",
        "decision",
        "decided_amount",
        "merchant_name",
        "opened_at",
        "answer_due_at",
        "merchant_answered_at",
        "decided_at",
        "decided_by_label",
        "review_link",
    ]
    list_filter = ["status", "decision", MERCHANT_FILTER]
    search_fields = ["=request__number", "=request__order__number"]
    list_select_related = ["request", "merchant"]
    date_hierarchy = "opened_at"
    ordering = ["opened_at", "id"]
    QUEUE_LIMIT = 200

    @admin.display(description=_("审理"))
    def review_link(self, obj):
        url = reverse("admin:returns_arbitration_review", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("审理"))

    def get_urls(self):
        return [
            path(
                "queue/",
                self.admin_site.admin_view(self.queue_view),
                name="returns_arbitration_queue",
            ),
            path(
                "<int:pk>/review/",
                self.admin_site.admin_view(self.review_view),
                name="returns_arbitration_review",
            ),
            *super().get_urls(),
        ]

    def _context(self, request, **extra):
        return {**self.admin_site.each_context(request), "opts": self.model._meta, **extra}

    def queue_view(self, request):
        """Open arbitrations, oldest first, each with its age, both sides' statements and
        evidence (images shown), the whole timeline and the pending deadlines (a fixed number
        of queries whatever the length of the queue)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        actor = _actor(request)
        show_all = request.GET.get("all") == "1"
        rows = list(
            selectors.arbitration_queue(actor=actor, filters={"all": show_all}).select_related(
                "request__consumer__user", "request__refund"
            )[: self.QUEUE_LIMIT]
        )
        cases = [a.request for a in rows]
        deadlines, timelines = pending_deadlines(cases), case_timeline(cases)
        now = clock.now()
        for arbitration in rows:
            arbitration.age = _age(arbitration.opened_at, now)
            arbitration.sides = evidence_sides(arbitration.request.evidence.all())
            arbitration.deadlines = deadlines.get(arbitration.request_id, [])
            arbitration.timeline = timelines.get(arbitration.request_id, [])
        return TemplateResponse(
            request,
            "admin/returns/arbitration/queue.html",
            self._context(request, title=_("仲裁队列"), rows=rows, now=now, show_all=show_all),
        )

    def review_view(self, request, pk):
        """One arbitration: both sides' statements and evidence, inspections, the whole
        timeline and pending deadlines; decide or ask for third-party inspection."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        actor = _actor(request)
        arbitration = (
            selectors.arbitration_queue(actor=actor, filters={"all": True})
            .select_related("request__consumer__user", "request__refund")
            .filter(pk=pk)
            .first()
        )
        if arbitration is None:
            raise PermissionDenied
        case = arbitration.request
        form = DecideForm(request.POST if "_decide" in request.POST else None)
        if request.method == "POST":
            done = self._review_post(request, actor, case, form)
            if done:
                return redirect("admin:returns_arbitration_review", arbitration.pk)
        # A mediator reaches this page only for a request granted to them.
        may_act = actor.platform_write or actor.is_mediator
        context = self._context(
            request,
            title=_("仲裁审理 %(number)s") % {"number": case.number},
            arbitration=arbitration,
            case=case,
            sides=evidence_sides(case.evidence.all()),
            inspections=list(arbitration.inspections.all()),
            trajectories=selectors.parcel_trajectories(case),
            timeline=case_timeline([case]).get(case.pk, []),
            deadlines=pending_deadlines([case]).get(case.pk, []),
            now=clock.now(),
            age=_age(arbitration.opened_at, clock.now()),
            form=form,
            may_act=may_act and arbitration.status != Arbitration.Status.DECIDED,
            can_inspect=may_act and arbitration.status == Arbitration.Status.OPEN,
        )
        return TemplateResponse(request, "admin/returns/arbitration/review.html", context)

    def _review_post(self, request, actor, case, form):
        try:
            if "_inspect" in request.POST:
                services.arbitration_inspection_request(request=case, actor=actor)
                self.message_user(request, _("已申请第三方检测，报告返回后可裁决。"))
                return True
            if "_decide" in request.POST and form.is_valid():
                d = form.cleaned_data
                services.arbitration_decide(
                    request=case,
                    actor=actor,
                    decision=d["decision"],
                    reason=d["reason"],
                    amount=d["amount"],
                )
                self.message_user(request, _("已裁决。"), messages.SUCCESS)
                return True
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return True
        return False


@admin.register(InspectionRequest)
class InspectionRequestAdmin(RequestScopedAdmin):
    request_path = "arbitration__request"
    list_display = [
        "request_id",
        "arbitration",
        "provider",
        "status",
        "result",
        "attempts",
        "requested_at",
        "reported_at",
    ]
    list_filter = ["status", "result", "provider"]
    search_fields = ["=request_id", "=external_ref", "=arbitration__request__number"]
    list_select_related = ["arbitration__request"]
    date_hierarchy = "requested_at"


# -- money (read only) --------------------------------------------------------------------------


class RefundPartInline(ReadOnlyInline):
    model = RefundPart
    fields = ["tender", "line", "amount", "status", "attempt", "gateway_refund", "failure_reason"]
    readonly_fields = fields


@admin.register(Refund)
class RefundAdmin(RequestScopedAdmin):
    """Refunds, one per request, split over the original tenders (R7); read only, with a retry
    of failed parts through the service."""

    list_display = [
        "request",
        "order",
        "merchant_name",
        "amount",
        "status",
        "source",
        "retries",
        "requested_at",
        "settled_at",
    ]
    list_filter = ["status", "source", MERCHANT_FILTER]
    search_fields = ["=request__number", "=order__number"]
    list_select_related = ["request", "order", "merchant"]
    date_hierarchy = "requested_at"
    inlines = [RefundPartInline]
    actions = ["retry_failed"]

    @admin.action(description=_("重试失败的退款分项"), permissions=["change"])
    def retry_failed(self, request, queryset):
        actor = _actor(request)
        for refund in queryset.order_by("pk"):
            try:
                services.refund_retry(refund=refund, actor=actor)
            except DomainError as exc:
                self.message_user(request, f"{refund.request}：{exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{refund.request}：{_('已重新提交。')}")


@admin.register(RefundPart)
class RefundPartAdmin(RequestScopedAdmin):
    request_path = "refund__request"
    list_display = ["refund", "tender", "amount", "status", "attempt", "failure_reason"]
    list_filter = ["status", "tender__kind", "refund__source"]
    search_fields = ["=refund__request__number"]
    list_select_related = ["refund__request", "tender"]


class ExtraPaymentAdmin(RequestScopedAdmin):
    """Money of a return besides its refund (``returns.services.payments``); read only, with a retry
    of failed payouts through the service."""

    list_display = ["request", "merchant_name", "amount", "status", "attempts", "failure_reason"]
    list_filter = ["status", MERCHANT_FILTER]
    search_fields = ["=request__number"]
    list_select_related = ["request", "merchant"]
    date_hierarchy = "requested_at"
    actions = ["retry_failed"]

    @admin.action(description=_("重试失败的付款"), permissions=["change"])
    def retry_failed(self, request, queryset):
        done = payments.extra_payouts_retry_failed(actor=_actor(request))
        self.message_user(request, _("已重新提交 %(n)d 笔。") % {"n": done})


@admin.register(ExchangeDifferencePayment)
class ExchangeDifferencePaymentAdmin(ExtraPaymentAdmin):
    """Exchange price differences paid by the consumer (R18) and given back."""


@admin.register(ShippingReimbursement)
class ShippingReimbursementAdmin(ExtraPaymentAdmin):
    """Return shipping reimbursed with the refund when the merchant pays it (R9)."""


@admin.register(ShippingInsuranceClaim)
class ShippingInsuranceClaimAdmin(RequestScopedAdmin):
    """Return shipping claimed from the insurer for a line with 运费险 (R8); read only: the
    worker files and settles each claim through the insurer adapter."""

    list_display = [
        "request",
        "merchant_name",
        "insurer",
        "amount",
        "paid_amount",
        "status",
        "attempts",
        "reason",
        "requested_at",
        "settled_at",
    ]
    list_filter = ["status", "insurer", MERCHANT_FILTER]
    search_fields = ["=request__number", "=external_ref"]
    list_select_related = ["request", "merchant"]
    date_hierarchy = "requested_at"


@admin.register(ExpressRefundLedgerEntry)
class ExpressRefundLedgerEntryAdmin(RequestScopedAdmin):
    """The platform's advances in express refunds (R12), their recovery and clawback."""

    list_display = [
        "occurred_at",
        "request",
        "kind",
        "amount",
        "settlement_status",
        "attempts",
        "merchant_name",
        "note",
        "actor_label",
    ]
    list_filter = ["kind", "settlement_status", MERCHANT_FILTER]
    search_fields = ["=request__number"]
    list_select_related = ["request", "merchant"]
    date_hierarchy = "occurred_at"


@admin.register(ReturnEvidence)
class ReturnEvidenceAdmin(RequestScopedAdmin):
    list_display = ["created_at", "request", "party", "kind", "preview", "note"]
    list_filter = ["party", "kind", EvidenceStageFilter]
    search_fields = ["=request__number"]
    list_select_related = ["request"]
    date_hierarchy = "created_at"
    exclude = ["stage"]

    def get_readonly_fields(self, request, obj=None):
        fields = [*super().get_readonly_fields(request, obj), "preview"]
        return ["stage_label" if f == "stage" else f for f in fields]

    @admin.display(description=_("环节"))
    def stage_label(self, obj):
        return evidence_stage_label(obj.stage)

    def get_urls(self):
        return [
            path(
                "<int:pk>/file/",
                self.admin_site.admin_view(self.file_view),
                name="returns_returnevidence_file",
            ),
            *super().get_urls(),
        ]

    def file_view(self, request, pk):
        """The evidence file itself, for staff who may see its request (media files are not
        served publicly)."""
        evidence = self.get_queryset(request).filter(pk=pk).first()
        if not self.has_view_permission(request) or evidence is None or not evidence.file:
            raise Http404
        return private_file_response(evidence.file, filename=evidence.original_name)

    @admin.display(description=_("预览"))
    def preview(self, obj):
        return evidence_html([obj])


@admin.register(ReturnAddress)
class ReturnAddressAdmin(admin.ModelAdmin):
    """Merchants' return addresses (one per warehouse), read-only: merchants keep them in their
    portal or through the API (``services.return_address_*``)."""

    list_display = ["merchant", "warehouse", "full_text", "is_default", "active", "updated_at"]
    list_filter = ["active", "is_default", MERCHANT_FILTER]
    search_fields = ["warehouse", "contact_name", "city"]
    list_select_related = ["merchant"]
    readonly_fields = [f.name for f in ReturnAddress._meta.fields] + ["full_text"]

    @admin.display(description=_("完整地址"))
    def full_text(self, obj):
        return obj.full_text

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        actor = _actor(request)
        return qs if actor.platform_read else qs.filter(merchant_id=actor.merchant_id or 0)

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
