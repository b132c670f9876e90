"""Tenancy: accounts, merchants and their staff, consumers and their addresses, integrators' API
keys, and the log of who saw a person's unmasked data."""

import hashlib
import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from aftersales import clock
from aftersales.casefile.models import ActorKind
from aftersales.pii import EncryptedTextField, blind_index, mask_address, mask_name, mask_phone


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

    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="members", verbose_name=_("商家")
    )
    user = models.OneToOneField(
        User, on_delete=models.CASCADE, related_name="merchant_member", verbose_name=_("用户")
    )
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

    user = models.OneToOneField(
        User, on_delete=models.CASCADE, related_name="consumer", verbose_name=_("用户")
    )
    external_id = models.CharField(_("外部编号"), max_length=64, unique=True, null=True, blank=True)
    name = EncryptedTextField(_("姓名"), blank=True)
    phone = EncryptedTextField(_("手机号"), blank=True)
    phone_index = models.CharField(
        max_length=64, db_index=True, blank=True, editable=False, verbose_name=_("手机号盲索引")
    )
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
        ConsumerProfile,
        on_delete=models.CASCADE,
        related_name="addresses",
        verbose_name=_("消费者"),
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
    hashed_key = models.CharField(max_length=64, editable=False, verbose_name=_("密钥摘要"))
    scope = models.CharField(_("范围"), max_length=10, choices=Scope.choices)
    merchant = models.ForeignKey(
        Merchant,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="api_keys",
        verbose_name=_("商家"),
    )
    created_by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("创建人"),
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


class PiiAccessLog(models.Model):
    """Who saw which unmasked personal value, when and why (RULES.md D3)."""

    actor_kind = models.CharField(
        max_length=12, choices=ActorKind.choices, verbose_name=_("操作者类型")
    )
    actor_user = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作用户"),
    )
    actor_api_key = models.ForeignKey(
        ApiKey,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作密钥"),
    )
    actor_label = models.CharField(max_length=150, blank=True, verbose_name=_("操作者"))
    subject_type = models.CharField(max_length=60, verbose_name=_("对象类型"))
    subject_id = models.BigIntegerField(verbose_name=_("对象编号"))
    fields = models.JSONField(default=list, verbose_name=_("查看字段"))
    reason = models.CharField(_("原因"), max_length=200)
    occurred_at = models.DateTimeField(
        default=clock.now, editable=False, verbose_name=_("查看时间")
    )

    class Meta:
        verbose_name = _("个人信息查看记录")
        verbose_name_plural = _("个人信息查看记录")
        # Granted by hand, never through a group (aftersales.tenancy.groups): an auditor reads
        # this log; revealing data is not auditing (issue 19, aftersales.tenancy.reveal).
        permissions = [("reveal_personal_data", _("可查看消费者完整个人信息（审计员须单独授予）"))]
        ordering = ["-occurred_at"]

    def __str__(self):
        return f"{self.actor_label} → {self.subject_type}#{self.subject_id} {self.fields}"
