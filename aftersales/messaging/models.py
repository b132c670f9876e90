"""Notification and webhook models (issue 3).

Notifications (standard 5.3.2): an in-app inbox row per message, one ``NotificationDelivery``
per channel with its result. Webhooks (standard 6.4.1.1): integrators' endpoints, an outbox row
per (event, endpoint) written in the transaction that published the event, and a log of every
attempt. Inbound callbacks from the payment, carrier and inspection adapters are stored once per
provider event id.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from aftersales import clock, shared_cache
from aftersales.messaging.kinds import MessageKind, kind_channels
from aftersales.pii import EncryptedTextField


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("待发送")
    SENT = "sent", _("已发送")
    FAILED = "failed", _("失败")


class NotificationChannel(models.TextChoices):
    IN_APP = "in_app", _("站内信")
    EMAIL = "email", _("邮件")
    SMS = "sms", _("短信")


class NotificationPreference(models.Model):
    """The channels a user chose. In-app is always on; email on, SMS off until chosen.

    ``email_enabled`` and ``sms_enabled`` hold the choice for every kind of message;
    ``kinds`` the exceptions per kind (``MessageKind``): ``{"refunds": {"sms": true}}``.
    """

    user = models.OneToOneField(
        "aftersales.User",
        on_delete=models.CASCADE,
        related_name="notification_preference",
        verbose_name=_("用户"),
    )
    email_enabled = models.BooleanField(_("邮件通知"), default=True)
    sms_enabled = models.BooleanField(_("短信通知"), default=False)
    kinds = models.JSONField(_("按消息类别的渠道"), default=dict, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), default=clock.now)

    class Meta:
        verbose_name = _("通知偏好")
        verbose_name_plural = _("通知偏好")

    def __str__(self):
        return f"{self.user}"

    def channels_for(self, kind):
        """``(email, sms)`` chosen for messages of ``kind`` (``kinds.kind_channels``)."""
        return kind_channels(self.email_enabled, self.sms_enabled, self.kinds, kind)


class Notification(models.Model):
    """One message in a user's in-app inbox, rendered in the user's language."""

    # db_index=False: notification_user_recent leads with it.
    user = models.ForeignKey(
        "aftersales.User",
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
        verbose_name=_("用户"),
    )
    event = models.CharField(_("事件"), max_length=80)
    kind = models.CharField(
        _("类别"), max_length=20, choices=MessageKind.choices, default=MessageKind.ACCOUNT
    )
    language = models.CharField(_("语言"), max_length=10, default="zh-hans")
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("正文"))
    sms_text = models.CharField(_("短信内容"), max_length=500, blank=True)
    subject_type = models.CharField(_("对象类型"), max_length=60, blank=True)
    subject_id = models.BigIntegerField(_("对象编号"), null=True, blank=True)
    merchant = models.ForeignKey(
        "aftersales.Merchant",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("商家"),
    )
    actor_label = models.CharField(_("操作人"), max_length=150, blank=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=clock.now)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        indexes = [
            models.Index(fields=["user", "-id"], name="notification_user_recent"),
            models.Index(
                fields=["user"], condition=Q(read_at__isnull=True), name="notification_user_unread"
            ),
        ]

    def __str__(self):
        return f"{self.user} · {self.title}"


class NotificationDelivery(models.Model):
    """One channel's delivery of a notification: status, attempts, last error, sent time."""

    MAX_ATTEMPTS = 5

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("通知")
    )
    channel = models.CharField(_("渠道"), max_length=10, choices=NotificationChannel.choices)
    recipient = models.CharField(_("接收方（脱敏）"), max_length=200, blank=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    error = models.TextField(_("错误"), blank=True)
    provider_message_id = models.CharField(_("服务商消息编号"), max_length=100, blank=True)
    next_attempt_at = models.DateTimeField(_("下次尝试"), null=True, blank=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=clock.now)

    class Meta:
        verbose_name = _("通知投递")
        verbose_name_plural = _("通知投递")
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(status="pending"), name="notif_delivery_due"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "sent", "failed"]),
                name="notif_delivery_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(channel__in=["in_app", "email", "sms"]),
                name="notif_delivery_channel_valid",
            ),
        ]

    def __str__(self):
        return f"{self.channel} #{self.notification_id} {self.status}"


class SandboxSmsMessage(models.Model):
    """A text message "sent" by the sandbox SMS provider (nothing leaves the platform)."""

    phone = EncryptedTextField(_("手机号"))
    text = models.TextField(_("内容"))
    message_id = models.CharField(_("消息编号"), max_length=40, unique=True)
    created_at = models.DateTimeField(_("创建时间"), default=clock.now)

    class Meta:
        verbose_name = _("沙箱短信")
        verbose_name_plural = _("沙箱短信")

    def __str__(self):
        return self.message_id


class WebhookEndpoint(models.Model):
    """An integrator's URL for events: platform-scoped (every event) or one merchant's events.

    The signing secret is encrypted at rest (AES-GCM, like personal data) and shown once.
    An endpoint with no successful delivery for 72 hours while failing is disabled.
    """

    class Scope(models.TextChoices):
        PLATFORM = "platform", _("平台")
        MERCHANT = "merchant", _("商家")

    scope = models.CharField(_("范围"), max_length=10, choices=Scope.choices)
    merchant = models.ForeignKey(
        "aftersales.Merchant",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="webhook_endpoints",
        verbose_name=_("商家"),
    )
    url = models.URLField(_("地址"), max_length=500)
    description = models.CharField(_("说明"), max_length=200, blank=True)
    event_types = models.JSONField(
        _("事件类型"), default=list, help_text=_('事件名列表；"*" 表示全部，"refund.*" 表示前缀')
    )
    secret = EncryptedTextField(_("签名密钥"), editable=False)
    is_active = models.BooleanField(_("启用"), default=True)
    disabled_at = models.DateTimeField(_("停用时间"), null=True, blank=True)
    disabled_reason = models.CharField(_("停用原因"), max_length=200, blank=True)
    consecutive_failures = models.PositiveIntegerField(_("连续失败次数"), default=0)
    failing_since = models.DateTimeField(_("持续失败起始"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("最近成功"), null=True, blank=True)
    created_by = models.ForeignKey(
        "aftersales.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("创建人"),
    )
    created_by_api_key = models.ForeignKey(
        "aftersales.ApiKey",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("创建所用的 API 密钥"),
    )
    created_at = models.DateTimeField(_("创建时间"), default=clock.now)

    class Meta:
        verbose_name = _("Webhook 端点")
        verbose_name_plural = _("Webhook 端点")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(scope="platform", merchant__isnull=True)
                | Q(scope="merchant", merchant__isnull=False),
                name="webhook_endpoint_scope_matches_merchant",
            )
        ]

    def __str__(self):
        return self.url

    # The outbox reads each owner's active endpoints from the shared cache
    # (aftersales.messaging.webhooks); every save and delete drops the owner's entry.
    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        shared_cache.forget_after_commit(self.cache_key(self.merchant_id))

    def delete(self, *args, **kwargs):
        shared_cache.forget_after_commit(self.cache_key(self.merchant_id))
        return super().delete(*args, **kwargs)

    @staticmethod
    def cache_key(merchant_id):
        """The shared cache's key of the active endpoints of ``merchant_id`` (None: the
        platform's)."""
        return f"webhooks:endpoints:{merchant_id or 'platform'}"


class WebhookDelivery(models.Model):
    """The outbox: one event for one endpoint, written in the transaction of the change.

    Delivered at least once; ``next_attempt_at`` is the back-off schedule (and, while an attempt
    runs, its lease). A replay is a new row pointing at the original (``replay_of``).
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("待投递")
        DELIVERED = "delivered", _("已送达")
        FAILED = "failed", _("已放弃")

    endpoint = models.ForeignKey(
        WebhookEndpoint,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("端点"),
    )
    event = models.ForeignKey(
        "aftersales.DomainEvent", on_delete=models.PROTECT, related_name="+", verbose_name=_("事件")
    )
    event_type = models.CharField(_("事件类型"), max_length=80)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次尝试"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("最近状态码"), null=True, blank=True)
    last_error = models.TextField(_("最近错误"), blank=True)
    delivered_at = models.DateTimeField(_("送达时间"), null=True, blank=True)
    replay_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="replays",
        verbose_name=_("重放自"),
    )
    created_at = models.DateTimeField(_("创建时间"), default=clock.now)

    class Meta:
        verbose_name = _("Webhook 投递")
        verbose_name_plural = _("Webhook 投递")
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="webhook_delivery_due",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event"],
                condition=Q(replay_of__isnull=True),
                name="webhook_delivery_once_per_endpoint",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "delivered", "failed"]),
                name="webhook_delivery_status_valid",
            ),
        ]

    def __str__(self):
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"

    @property
    def merchant_id(self):
        return self.endpoint.merchant_id


class WebhookAttempt(models.Model):
    """One HTTP attempt of a delivery: status code or error, duration, time."""

    delivery = models.ForeignKey(
        WebhookDelivery,
        on_delete=models.CASCADE,
        related_name="attempt_log",
        verbose_name=_("投递"),
    )
    number = models.PositiveIntegerField(_("序号"))
    status_code = models.PositiveSmallIntegerField(_("状态码"), null=True, blank=True)
    error = models.TextField(_("错误"), blank=True)
    response_excerpt = models.CharField(_("响应摘录"), max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(_("耗时（毫秒）"), default=0)
    at = models.DateTimeField(_("时间"), default=clock.now)

    class Meta:
        verbose_name = _("Webhook 尝试")
        verbose_name_plural = _("Webhook 尝试")
        ordering = ["delivery_id", "number"]

    def __str__(self):
        return f"#{self.delivery_id}/{self.number} {self.status_code or self.error[:40]}"

    @property
    def succeeded(self):
        return self.status_code is not None and 200 <= self.status_code < 300


class InboundCallback(models.Model):
    """A verified callback from a provider adapter, stored once per provider event id."""

    class Status(models.TextChoices):
        PROCESSED = "processed", _("已处理")
        UNHANDLED = "unhandled", _("无处理器")

    provider = models.CharField(_("提供方"), max_length=40)
    event_id = models.CharField(_("事件编号"), max_length=120)
    event_type = models.CharField(_("事件类型"), max_length=80, blank=True)
    payload = models.JSONField(_("内容"), default=dict)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.PROCESSED
    )
    received_at = models.DateTimeField(_("接收时间"), default=clock.now)

    class Meta:
        verbose_name = _("回调")
        verbose_name_plural = _("回调")
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="inbound_callback_once")
        ]

    def __str__(self):
        return f"{self.provider}:{self.event_id}"


__all__ = [
    "DeliveryStatus",
    "NotificationChannel",
    "NotificationPreference",
    "Notification",
    "NotificationDelivery",
    "SandboxSmsMessage",
    "WebhookEndpoint",
    "WebhookDelivery",
    "WebhookAttempt",
    "InboundCallback",
]
