"""Kernel models: accounts and tenancy, API keys, clock, timeline, policies, idempotency,
domain events and the personal-data access log."""

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from . import clock
from .pii import EncryptedTextField, blind_index, mask_address, mask_name, mask_phone


class User(AbstractUser):
    """A person who signs in: consumer, merchant staff or platform staff."""

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")


class PlatformGroup(models.TextChoices):
    """Platform staff groups (standard 4.1); Django auth groups carry these names."""

    AGENT = "after_sales_agent", _("售后专员")
    MANAGER = "after_sales_manager", _("售后主管")
    MEDIATOR = "mediator", _("调解员")
    AUDITOR = "auditor", _("审计员")


class Merchant(models.Model):
    """A shop on the platform. Every case carries its merchant."""

    code = models.SlugField(_("商家编码"), max_length=40, unique=True)
    name = models.CharField(_("商家名称"), max_length=120)
    contact_email = models.EmailField(_("联系邮箱"), blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("商家")
        verbose_name_plural = _("商家")
        ordering = ["id"]

    def __str__(self):
        return self.name


class MerchantMember(models.Model):
    """A user who works for a merchant, as owner or agent."""

    class Role(models.TextChoices):
        OWNER = "owner", _("店主")
        AGENT = "agent", _("客服")

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="members")
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="merchant_member")
    role = models.CharField(_("角色"), max_length=10, choices=Role.choices, default=Role.AGENT)
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("商家员工")
        verbose_name_plural = _("商家员工")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=["owner", "agent"]), name="member_role_valid"
            )
        ]

    def __str__(self):
        return f"{self.merchant} / {self.user}"


class ConsumerProfile(models.Model):
    """A consumer: name and phone encrypted at rest (D1), phone found by blind index."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="consumer")
    external_id = models.CharField(_("外部编号"), max_length=64, unique=True, null=True, blank=True)
    name = EncryptedTextField(_("姓名"), blank=True)
    phone = EncryptedTextField(_("手机号"), blank=True)
    phone_index = models.CharField(max_length=64, db_index=True, blank=True, editable=False)
    credit_score = models.PositiveSmallIntegerField(_("信用分"), default=600)
    preferred_language = models.CharField(_("语言"), max_length=10, default="zh-hans")
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("消费者")
        verbose_name_plural = _("消费者")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(credit_score__gte=0, credit_score__lte=1000),
                name="consumer_credit_score_range",
            )
        ]

    def __str__(self):
        return self.masked_name or self.user.username

    def set_phone(self, phone):
        self.phone = phone
        self.phone_index = blind_index(phone) if phone else ""

    @property
    def masked_name(self):
        return mask_name(self.name)

    @property
    def masked_phone(self):
        return mask_phone(self.phone)


class ConsumerAddress(models.Model):
    """A consumer's address; recipient, phone, street and unit encrypted (D1)."""

    consumer = models.ForeignKey(
        ConsumerProfile, on_delete=models.CASCADE, related_name="addresses"
    )
    recipient = EncryptedTextField(_("收件人"))
    phone = EncryptedTextField(_("电话"))
    province = models.CharField(_("省"), max_length=20)
    city = models.CharField(_("市"), max_length=20)
    district = models.CharField(_("区县"), max_length=20, blank=True)
    street = EncryptedTextField(_("街道地址"))
    unit = EncryptedTextField(_("门牌/房间号"), blank=True)
    is_default = models.BooleanField(_("默认"), default=False)

    class Meta:
        verbose_name = _("收货地址")
        verbose_name_plural = _("收货地址")

    def __str__(self):
        return self.masked

    @property
    def masked(self):
        return mask_address(
            province=self.province, city=self.city, district=self.district, street=self.street
        )


class ApiKey(models.Model):
    """An integrator's key: stored hashed, scoped to the platform or one merchant, revocable."""

    class Scope(models.TextChoices):
        PLATFORM = "platform", _("平台")
        MERCHANT = "merchant", _("商家")

    name = models.CharField(_("名称"), max_length=80)
    prefix = models.CharField(_("前缀"), max_length=16, unique=True, editable=False)
    hashed_key = models.CharField(max_length=64, editable=False)
    scope = models.CharField(_("范围"), max_length=10, choices=Scope.choices)
    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, null=True, blank=True, related_name="api_keys"
    )
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("API 密钥")
        verbose_name_plural = _("API 密钥")
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(scope="platform", merchant__isnull=True))
                | (models.Q(scope="merchant", merchant__isnull=False)),
                name="apikey_scope_matches_merchant",
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()

    @staticmethod
    def new_raw_key():
        prefix = secrets.token_hex(4)
        return prefix, f"as_{prefix}_{secrets.token_urlsafe(32)}"

    @property
    def is_active(self):
        return self.revoked_at is None


class ClockOffset(models.Model):
    """The sandbox clock's offset from real time, shared by web processes and workers."""

    offset_seconds = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.CharField(max_length=150, blank=True)

    class Meta:
        verbose_name = _("沙箱时钟")
        verbose_name_plural = _("沙箱时钟")

    def __str__(self):
        return f"{self.offset_seconds:+d}s"

    @classmethod
    def current(cls):
        row = cls.objects.filter(pk=1).values_list("offset_seconds", flat=True).first()
        return timedelta(seconds=row or 0)


class ActorKind(models.TextChoices):
    """Who did something, as recorded on timeline events."""

    CONSUMER = "consumer", _("消费者")
    MERCHANT = "merchant", _("商家")
    PLATFORM = "platform", _("平台")
    INTEGRATOR = "integrator", _("集成方")
    SYSTEM = "system", _("系统")


class TimelineEvent(models.Model):
    """One step in a case's history: who, what, from which status to which, why, when."""

    subject_type = models.CharField(max_length=60)
    subject_id = models.BigIntegerField()
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    verb = models.CharField(_("动作"), max_length=60)
    from_status = models.CharField(max_length=40, blank=True)
    to_status = models.CharField(max_length=40, blank=True)
    reason = models.TextField(_("原因"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    actor_kind = models.CharField(max_length=12, choices=ActorKind.choices)
    actor_user = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_api_key = models.ForeignKey(
        ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    occurred_at = models.DateTimeField(_("发生时间"), default=clock.now)

    class Meta:
        verbose_name = _("时间线事件")
        verbose_name_plural = _("时间线事件")
        indexes = [models.Index(fields=["subject_type", "subject_id", "occurred_at"])]
        ordering = ["occurred_at", "id"]

    def __str__(self):
        return f"{self.subject_type}#{self.subject_id} {self.verb}"


class PolicyVersion(models.Model):
    """One version of a policy value (RULES.md **policy**) for the platform, a category or a
    merchant. The newest version per (key, scope) is in force; older ones are the history."""

    class Scope(models.TextChoices):
        PLATFORM = "platform", _("平台")
        CATEGORY = "category", _("类目")
        MERCHANT = "merchant", _("商家")

    key = models.CharField(_("策略"), max_length=60, db_index=True)
    scope = models.CharField(
        _("范围"), max_length=10, choices=Scope.choices, default=Scope.PLATFORM
    )
    scope_id = models.BigIntegerField(_("范围对象"), null=True, blank=True)
    value = models.JSONField(_("取值"))
    version = models.PositiveIntegerField(_("版本"))
    note = models.CharField(_("说明"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("生效时间"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("策略版本")
        verbose_name_plural = _("策略版本")
        constraints = [
            models.UniqueConstraint(
                fields=["key", "scope", "scope_id", "version"], name="policy_version_unique"
            ),
            models.UniqueConstraint(
                fields=["key", "version"],
                condition=models.Q(scope="platform"),
                name="policy_platform_version_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(scope="platform", scope_id__isnull=True)
                | (~models.Q(scope="platform") & models.Q(scope_id__isnull=False)),
                name="policy_scope_id_matches_scope",
            ),
        ]
        ordering = ["key", "scope", "scope_id", "-version"]

    def __str__(self):
        return f"{self.key}@{self.scope}:{self.scope_id or '-'} v{self.version}"


class IdempotencyRecord(models.Model):
    """A stored first response for an ``Idempotency-Key`` (Stripe semantics)."""

    owner = models.CharField(max_length=80)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.BinaryField(null=True)
    content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        verbose_name = _("幂等记录")
        verbose_name_plural = _("幂等记录")
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotency_owner_key")
        ]

    def __str__(self):
        return f"{self.owner} {self.method} {self.path} [{self.key}]"


class DomainEvent(models.Model):
    """A published domain event (``refund.succeeded``); the webhook outbox reads these rows."""

    name = models.CharField(max_length=80, db_index=True)
    subject_type = models.CharField(max_length=60)
    subject_id = models.BigIntegerField()
    merchant = models.ForeignKey(
        Merchant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    payload = models.JSONField(default=dict)
    occurred_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = _("领域事件")
        verbose_name_plural = _("领域事件")
        indexes = [models.Index(fields=["subject_type", "subject_id"])]

    def __str__(self):
        return f"{self.name} {self.subject_type}#{self.subject_id}"


class PiiAccessLog(models.Model):
    """Who saw which unmasked personal value, when and why (RULES.md D3)."""

    actor_kind = models.CharField(max_length=12, choices=ActorKind.choices)
    actor_user = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_api_key = models.ForeignKey(
        ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    subject_type = models.CharField(max_length=60)
    subject_id = models.BigIntegerField()
    fields = models.JSONField(default=list)
    reason = models.CharField(_("原因"), max_length=200)
    occurred_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        verbose_name = _("个人信息查看记录")
        verbose_name_plural = _("个人信息查看记录")
        ordering = ["-occurred_at"]

    def __str__(self):
        return f"{self.actor_label} → {self.subject_type}#{self.subject_id} {self.fields}"


from .models_deadlines import *  # noqa: E402,F401,F403
from .models_messaging import *  # noqa: E402,F401,F403
