"""Admin for notifications and webhooks (issue 3). Actions call the services."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from aftersales.errors import DomainError
from aftersales.messaging import notifications, webhooks
from aftersales.messaging.models import (
    InboundCallback,
    Notification,
    NotificationDelivery,
    NotificationPreference,
    SandboxSmsMessage,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from aftersales.tenancy.actors import actor_for_user


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class NotificationDeliveryInline(ReadOnlyMixin, admin.TabularInline):
    model = NotificationDelivery
    extra = 0
    fields = ["channel", "recipient", "status", "attempts", "error", "next_attempt_at", "sent_at"]
    readonly_fields = fields


@admin.register(Notification)
class NotificationAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "user", "kind", "event", "title", "language", "read_at", "created_at"]
    list_filter = ["kind", "event", "language", ("read_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__username", "title", "event"]
    list_select_related = ["user"]
    inlines = [NotificationDeliveryInline]


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "notification",
        "channel",
        "recipient",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
    ]
    list_filter = ["channel", "status"]
    list_select_related = ["notification__user"]
    actions = ["retry_now"]

    @admin.action(description=_("立即重试发送"))
    def retry_now(self, request, queryset):
        actor = actor_for_user(request.user)
        for delivery in queryset:
            notifications.notification_delivery_retry(delivery=delivery, actor=actor)
        self.message_user(request, _("已安排重试。"), messages.SUCCESS)


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "email_enabled", "sms_enabled", "updated_at"]
    raw_id_fields = ["user"]


@admin.register(SandboxSmsMessage)
class SandboxSmsMessageAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["message_id", "text", "created_at"]
    exclude = ["phone"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "url",
        "scope",
        "merchant",
        "is_active",
        "consecutive_failures",
        "failing_since",
        "last_success_at",
        "disabled_at",
    ]
    list_filter = ["scope", "is_active"]
    search_fields = ["url", "description"]
    readonly_fields = [
        "scope",
        "merchant",
        "disabled_at",
        "disabled_reason",
        "consecutive_failures",
        "failing_since",
        "last_success_at",
        "created_by",
        "created_by_api_key",
        "created_at",
    ]
    fields = ["url", "description", "event_types", *readonly_fields]
    actions = ["enable", "disable"]

    def has_add_permission(self, request):
        return False  # registered through the API so the secret is shown to its owner once

    def save_model(self, request, obj, form, change):
        webhooks.webhook_endpoint_update(
            endpoint=obj,
            actor=actor_for_user(request.user),
            url=obj.url,
            event_types=obj.event_types,
            description=obj.description,
        )

    def delete_model(self, request, obj):
        webhooks.webhook_endpoint_delete(endpoint=obj, actor=actor_for_user(request.user))

    def delete_queryset(self, request, queryset):
        actor = actor_for_user(request.user)
        for endpoint in queryset:
            webhooks.webhook_endpoint_delete(endpoint=endpoint, actor=actor)

    @admin.action(description=_("启用所选端点"))
    def enable(self, request, queryset):
        actor = actor_for_user(request.user)
        for endpoint in queryset:
            webhooks.webhook_endpoint_update(endpoint=endpoint, actor=actor, is_active=True)

    @admin.action(description=_("停用所选端点"))
    def disable(self, request, queryset):
        actor = actor_for_user(request.user)
        for endpoint in queryset:
            webhooks.webhook_endpoint_update(endpoint=endpoint, actor=actor, is_active=False)


class WebhookAttemptInline(ReadOnlyMixin, admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    fields = ["number", "status_code", "error", "duration_ms", "at"]
    readonly_fields = fields


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
        "created_at",
    ]
    list_filter = ["status", "event_type"]
    list_select_related = ["endpoint"]
    inlines = [WebhookAttemptInline]
    actions = ["replay"]

    @admin.action(description=_("重放所选投递"))
    def replay(self, request, queryset):
        actor = actor_for_user(request.user)
        done = 0
        for delivery in queryset:
            try:
                webhooks.webhook_delivery_replay(delivery=delivery, actor=actor)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"#{delivery.pk}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, _("已重放 %(n)d 条投递。") % {"n": done}, messages.SUCCESS)


@admin.register(InboundCallback)
class InboundCallbackAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["provider", "event_id", "event_type", "status", "received_at"]
    list_filter = ["provider", "status"]
    search_fields = ["event_id"]
