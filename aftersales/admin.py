"""Staff console for the kernel's models."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import (
    ApiKey, ConsumerAddress, ConsumerProfile, DomainEvent, IdempotencyRecord, Merchant,
    MerchantMember, PiiAccessLog, PolicyVersion, TimelineEvent, User,
)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "is_staff", "is_active", "last_login"]


class MemberInline(admin.TabularInline):
    model = MerchantMember
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "contact_email", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["code", "name"]
    inlines = [MemberInline]


@admin.register(ConsumerProfile)
class ConsumerAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "masked_name", "masked_phone", "credit_score", "created_at"]
    search_fields = ["user__username", "external_id"]
    readonly_fields = ["phone_index"]
    exclude = ["name", "phone"]
    list_select_related = ["user"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "scope", "merchant", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["scope", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]


@admin.register(PolicyVersion)
class PolicyVersionAdmin(admin.ModelAdmin):
    list_display = ["key", "scope", "scope_id", "value", "version", "created_by", "created_at"]
    list_filter = ["key", "scope"]


@admin.register(TimelineEvent)
class TimelineEventAdmin(admin.ModelAdmin):
    list_display = ["subject_type", "subject_id", "verb", "from_status", "to_status", "actor_label", "occurred_at"]
    list_filter = ["subject_type", "actor_kind"]
    search_fields = ["verb", "actor_label"]

    def has_change_permission(self, request, obj=None):
        return False


admin.site.register([DomainEvent, IdempotencyRecord, PiiAccessLog, ConsumerAddress])

from . import admin_deadlines, admin_messaging  # noqa: E402,F401
