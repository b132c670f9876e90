"""Staff console of complaints: the grading matrix (every save through
``grading_rule_save``), the complaint queue by grade and state with its clocks, the hash-chained
records and the log (read only: the database refuses changes), checkpoints and integrity
incidents."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from aftersales.deadlines.engine import deadlines_for
from aftersales.tenancy.actors import actor_for_user

from . import services
from .models import (
    Checkpoint,
    Complaint,
    ComplaintRecord,
    GradingRule,
    IntegrityIncident,
    LogLeaf,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Append-only rows: shown, never added, changed or deleted in the console."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(GradingRule)
class GradingRuleAdmin(admin.ModelAdmin):
    list_display = [
        "position",
        "issue",
        "amount_from",
        "amount_below",
        "safety_risk",
        "repeat",
        "media_or_regulator",
        "grade",
        "note",
    ]
    ordering = ["position"]
    readonly_fields = ["updated_at"]

    def save_model(self, request, obj, form, change):
        services.grading_rule_save(rule=obj, actor=actor_for_user(request.user))

    def has_delete_permission(self, request, obj=None):
        return False


class RecordInline(admin.TabularInline):
    model = ComplaintRecord
    fields = ["seq", "verb", "actor_label", "occurred_at", "attachment_sha256", "hash"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Complaint)
class ComplaintAdmin(ReadOnlyAdmin):
    list_display = ["number", "grade", "status", "issue", "merchant", "channel", "received_at"]
    list_filter = ["grade", "status", "issue", "channel"]
    search_fields = ["subject_key", "description"]
    inlines = [RecordInline]
    readonly_fields = [
        "number",
        "subject_kind",
        "subject_key",
        "merchant",
        "consumer",
        "channel",
        "issue",
        "description",
        "amount",
        "safety_risk",
        "media_or_regulator",
        "harm_known_on",
        "is_repeat",
        "repeat_count",
        "grade",
        "grading_basis",
        "status",
        "first_responded_at",
        "first_response_breached_at",
        "escalated_at",
        "outcome",
        "conclusion",
        "decline_reason",
        "received_at",
        "clocks",
    ]
    fields = readonly_fields

    @admin.display(description=_("计时"))
    def clocks(self, obj):
        rows = deadlines_for(obj)
        return "; ".join(
            f"{d.kind} {d.due_at:%Y-%m-%d %H:%M} {d.get_state_display()}" for d in rows
        )


@admin.register(ComplaintRecord)
class ComplaintRecordAdmin(ReadOnlyAdmin):
    list_display = ["complaint", "seq", "verb", "actor_label", "occurred_at", "hash"]
    list_select_related = ["complaint"]


@admin.register(LogLeaf)
class LogLeafAdmin(ReadOnlyAdmin):
    list_display = ["index", "complaint", "seq", "entry_hash"]


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnlyAdmin):
    list_display = ["tree_size", "root_hash", "timestamp", "key_id"]
    actions = ["publish_now"]

    @admin.action(description=_("立即发布检查点"))
    def publish_now(self, request, queryset):
        checkpoint = services.checkpoint_publish()
        if checkpoint is not None:
            self.message_user(request, _("检查点：%(n)s 叶") % {"n": checkpoint.tree_size})


@admin.register(IntegrityIncident)
class IntegrityIncidentAdmin(ReadOnlyAdmin):
    list_display = ["detected_at", "kind", "complaint", "resolved_at"]
    list_filter = ["kind"]
    actions = ["run_check"]

    @admin.action(description=_("立即检查全部投诉记录"))
    def run_check(self, request, queryset):
        found = services.integrity_check()
        level = messages.ERROR if found else messages.SUCCESS
        self.message_user(request, _("发现 %(n)s 处不一致") % {"n": len(found)}, level)
