"""三包 (three guarantees) — standard 6.5, RULES.md "Three guarantees" G1–G12.

The catalog (6.5.2) says, per 三包 category (``orders.Category.sanbao_code``), how long the whole
unit and each main part are covered (G9), how fast goods depreciate when a refund replaces an
exchange (G8) and after how many days without manufacturer parts a repair turns into an exchange
(G5). Staff edit it in the admin through ``repairs.services.catalog_entry_save``; every change is
kept in ``SanbaoCatalogChange`` with who and when.

Issue 5 adds the cases: ``WarrantyCard`` (one per sold unit), ``RepairProvider`` and
``RepairProviderMember`` (admission 6.5.1), ``RepairOrder`` with its ``PartsWait`` periods and
``RepairEvidence``, and ``WarrantyEscalation`` (the platform's queue for G4/G5/G6). Writes go
through ``repairs.services``, reads through ``repairs.selectors``; end dates are never stored
but computed by ``repairs.rules`` from ``selectors.card_facts``.

Beyond the issue's sketch: ``WarrantyCard.root`` (the chain's first card, so a chain loads in
one query), ``pending_remedy`` / ``return_request_id`` (a remedy in the returns flow),
``misuse_reasons`` (G11 findings about the unit) and ``alternative_refused`` (G7);
``RepairOrder.parts_wait_days`` / ``parts_wait_since`` mirror the ``PartsWait`` rows for the
engine and the sweep; ``entitlement_rule`` records the engine's rule at the report (``G3``,
``G3P`` main parts only, ``G12``, ``G11``, ``G9``).
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from aftersales import clock
from aftersales.casefile.files import ORIGINAL_NAME_LENGTH, display_name, random_name

from .rules import CatalogFacts, PartPeriod
from .seed import seed_text


class SanbaoCatalogEntry(models.Model):
    """One 三包 category with its real periods (部分商品修理更换退货责任规定, annex)."""

    code = models.SlugField(
        _("编码"),
        max_length=40,
        unique=True,
        help_text=_("与商品类目的“三包目录”编码一致，如 lcd_tv"),
    )
    name = models.CharField(_("名称"), max_length=80)
    whole_unit_months = models.PositiveSmallIntegerField(_("整机三包期（月）"))
    main_parts = models.JSONField(
        _("主要部件"),
        default=list,
        blank=True,
        help_text=_('主要部件及其三包期，形如 [{"name": "显示屏", "months": 36}]'),
    )
    special_cases = models.TextField(_("特殊情况说明"), blank=True)
    service_standard = models.TextField(_("服务标准"), blank=True)
    daily_depreciation_rate = models.DecimalField(
        _("日折旧率（%）"),
        max_digits=6,
        decimal_places=3,
        null=True,
        blank=True,
        help_text=_("百分数，0.100 表示每日 0.10%；留空表示未知，此时不计算折旧退货金额（G8）"),
    )
    parts_shortage_limit_days = models.PositiveSmallIntegerField(
        _("缺件换货期限（日）"),
        default=90,
        help_text=_("送修后超过此天数仍因缺少配件未修好，由销售者免费换货（G5；移动电话 60 日）"),
    )
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)
    updated_at = models.DateTimeField(_("更新时间"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("三包目录条目")
        verbose_name_plural = _("三包目录")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(daily_depreciation_rate__isnull=True)
                | models.Q(daily_depreciation_rate__gte=0, daily_depreciation_rate__lte=100),
                name="sanbao_rate_is_a_percentage",
            ),
            models.CheckConstraint(
                condition=models.Q(whole_unit_months__gt=0), name="sanbao_whole_unit_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(parts_shortage_limit_days__gt=0),
                name="sanbao_parts_limit_positive",
            ),
        ]

    def __str__(self):
        return gettext("%(name)s（%(code)s）") % {"name": seed_text(self.name), "code": self.code}

    @property
    def rate_known(self):
        return self.daily_depreciation_rate is not None


class SanbaoCatalogChange(models.Model):
    """One saved version of a catalog entry: a full snapshot, what changed, who and when."""

    entry = models.ForeignKey(
        SanbaoCatalogEntry,
        on_delete=models.CASCADE,
        related_name="changes",
        verbose_name=_("目录条目"),
    )
    version = models.PositiveIntegerField(_("版本"))
    snapshot = models.JSONField(_("快照"))
    changed_fields = models.JSONField(_("变更字段"), default=dict, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作人"),
    )
    actor_label = models.CharField(_("操作方"), max_length=150, blank=True)
    changed_at = models.DateTimeField(_("变更时间"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("三包目录变更记录")
        verbose_name_plural = _("三包目录变更记录")
        ordering = ["entry", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["entry", "version"], name="sanbao_change_version_unique"
            ),
        ]

    def __str__(self):
        return f"{self.entry_id} v{self.version}"


def catalog_facts(entry):
    """The pure-rule view (``repairs.rules.CatalogFacts``) of a catalog entry."""
    return CatalogFacts(
        code=entry.code,
        whole_unit_months=entry.whole_unit_months,
        parts=tuple(PartPeriod(p["name"], p["months"]) for p in entry.main_parts or []),
        daily_rate=entry.daily_depreciation_rate,
        parts_limit_days=entry.parts_shortage_limit_days,
    )


# -- warranty cards, providers, repair orders (issue 5) -----------------------------------------
#
# A ``WarrantyCard`` is one sold unit (order line × unit index). Its 三包 end dates are never
# stored: ``repairs.selectors.card_facts`` turns the card's chain (the original card and the
# cards that replaced it by exchange, G10) and their repair orders into ``rules.CardFacts`` and
# ``repairs.rules`` computes everything from those facts (G9 extension by repair days, G10
# restart), so the consumer page, the merchant portal, the admin and the API agree.


class WarrantyCard(models.Model):
    """The 三包 card of one sold unit (standard 6.5.2, G9, G10).

    ``starts_at`` is sign-off, or installation completed for goods that need installation (G9;
    empty until then). ``catalog_change`` is the catalog version in force at sale (its snapshot
    gives the periods); ``catalog_entry`` is the live entry (its daily rate is used while the
    sale-time version did not know one, so G8 computes once staff set it). An exchange (G10)
    ends this card (``exchanged``) and creates the next one with ``replaces`` pointing here and
    ``root`` at the chain's first card; the 三包 period restarts at the exchange date.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("有效")
        EXCHANGED = "exchanged", _("已换货")
        RETURNED = "returned", _("已退货")
        EXPIRED = "expired", _("已过期")

    number = models.CharField(_("三包凭证号"), max_length=32, unique=True)
    order_line = models.ForeignKey(
        "orders.OrderLine",
        on_delete=models.PROTECT,
        related_name="warranty_cards",
        verbose_name=_("订单行"),
    )
    unit_index = models.PositiveSmallIntegerField(_("件序号"), default=1)
    serial_number = models.CharField(_("序列号"), max_length=80, blank=True)
    catalog_entry = models.ForeignKey(
        SanbaoCatalogEntry,
        on_delete=models.PROTECT,
        related_name="warranty_cards",
        verbose_name=_("三包目录"),
    )
    catalog_change = models.ForeignKey(
        SanbaoCatalogChange,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("销售时目录版本"),
    )
    catalog_version = models.PositiveIntegerField(_("目录版本"), default=1)
    merchant = models.ForeignKey(
        "aftersales.Merchant",
        on_delete=models.PROTECT,
        related_name="warranty_cards",
        verbose_name=_("商家"),
    )
    consumer = models.ForeignKey(
        "aftersales.ConsumerProfile",
        on_delete=models.PROTECT,
        related_name="warranty_cards",
        verbose_name=_("消费者"),
    )
    product = models.ForeignKey(
        "orders.Product", on_delete=models.PROTECT, related_name="+", verbose_name=_("商品")
    )
    sku = models.ForeignKey(
        "orders.Sku", on_delete=models.PROTECT, related_name="+", verbose_name=_("SKU")
    )
    product_name = models.CharField(_("商品名称"), max_length=200)
    unit_price = models.DecimalField(_("单件实付"), max_digits=12, decimal_places=2)
    needs_installation = models.BooleanField(_("需要安装"), default=False)
    signed_at = models.DateTimeField(_("签收时间"))
    installed_at = models.DateTimeField(_("安装完成时间"), null=True, blank=True)
    starts_at = models.DateTimeField(
        _("三包起算时间"),
        null=True,
        blank=True,
        help_text=_("签收或安装完成（G9）；换货后为换货时间（G10）"),
    )
    status = models.CharField(
        _("状态"), max_length=12, choices=Status.choices, default=Status.ACTIVE
    )
    root = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="chain",
        verbose_name=_("原始凭证"),
        help_text=_("换货链的第一张凭证；原始凭证为空"),
    )
    replaces = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replaced_by",
        verbose_name=_("被替换的凭证"),
    )
    exchanged_at = models.DateTimeField(_("换货时间"), null=True, blank=True)
    returned_at = models.DateTimeField(_("退货时间"), null=True, blank=True)
    misuse_reasons = models.JSONField(
        _("不实行三包的原因"),
        default=list,
        blank=True,
        help_text=_("G11：misuse / disassembly / voucher / force_majeure"),
    )
    pending_remedy = models.CharField(
        _("已选补救"),
        max_length=10,
        blank=True,
        help_text=_("消费者已选择、正在退换货流程中的补救：exchange / return"),
    )
    return_request_id = models.BigIntegerField(_("退换货申请"), null=True, blank=True)
    alternative_refused = models.BooleanField(
        _("拒绝其他型号"), default=False, help_text=_("无同型号同规格时消费者不接受其他型号（G7）")
    )
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("三包凭证")
        verbose_name_plural = _("三包凭证")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["consumer", "-id"], name="warranty_card_consumer"),
            models.Index(fields=["merchant", "-id"], name="warranty_card_merchant"),
            models.Index(fields=["root"], name="warranty_card_root"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["active", "exchanged", "returned", "expired"]),
                name="warranty_card_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(unit_index__gte=1), name="warranty_card_unit_index_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(unit_price__gte=0), name="warranty_card_price_not_negative"
            ),
            # One original card per sold unit; replacements hang off it by ``replaces``.
            models.UniqueConstraint(
                fields=["order_line", "unit_index"],
                condition=models.Q(replaces__isnull=True),
                name="warranty_card_one_per_unit",
            ),
        ]

    def __str__(self):
        return f"{self.number} {self.product_name}"

    @property
    def chain_root_id(self):
        return self.root_id or self.pk

    @property
    def is_active(self):
        return self.status == self.Status.ACTIVE


def licence_upload_to(instance, filename):
    """A random name: licences are served only to staff, through the admin (issue 19)."""
    return random_name("repairs/licences", filename)


def evidence_upload_to(instance, filename):
    """A random name: evidence is served only through views that check access to the repair."""
    return random_name("repairs/evidence", filename)


class RepairProvider(models.Model):
    """A repairer admitted by the platform (standard 6.5.1): licence, categories, regions.

    Only ``approved`` providers whose ``categories`` hold the card's catalog entry (and whose
    ``regions`` hold the consumer's province; empty = nationwide) can be assigned repairs.
    """

    class Status(models.TextChoices):
        APPLIED = "applied", _("待审核")
        APPROVED = "approved", _("已准入")
        SUSPENDED = "suspended", _("已暂停")
        REJECTED = "rejected", _("已驳回")

    name = models.CharField(_("名称"), max_length=120)
    licence_number = models.CharField(_("营业执照/资质编号"), max_length=64)
    licence_file = models.FileField(
        _("资质文件"), upload_to=licence_upload_to, blank=True, max_length=200
    )
    licence_expires_on = models.DateField(_("资质有效期至"), null=True, blank=True)
    categories = models.ManyToManyField(
        SanbaoCatalogEntry, related_name="providers", blank=True, verbose_name=_("维修类目")
    )
    regions = models.JSONField(
        _("服务地区"), default=list, blank=True, help_text=_('省份列表，如 ["上海市"]；空为全国')
    )
    contact_name = models.CharField(_("联系人"), max_length=60, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=30, blank=True)
    contact_email = models.EmailField(_("联系邮箱"), blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    service_hours = models.CharField(
        _("营业时间"), max_length=100, blank=True, help_text=_("例如：周一至周日 09:00–18:00")
    )
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.APPLIED
    )
    applied_at = models.DateTimeField(_("申请时间"), default=clock.now)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("审核人"),
    )
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    review_note = models.CharField(_("审核意见"), max_length=300, blank=True)
    suspended_at = models.DateTimeField(_("暂停时间"), null=True, blank=True)
    status_reason = models.CharField(_("状态说明"), max_length=300, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), default=clock.now)

    class Meta:
        verbose_name = _("维修服务商")
        verbose_name_plural = _("维修服务商")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["applied", "approved", "suspended", "rejected"]),
                name="repair_provider_status_valid",
            ),
            models.UniqueConstraint(
                fields=["licence_number"], name="repair_provider_licence_unique"
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def is_admitted(self):
        return self.status == self.Status.APPROVED

    def serves_region(self, province):
        return not self.regions or not province or province in self.regions


class RepairProviderMember(models.Model):
    """A user working for a repair provider. Staff see only the repair orders assigned to their
    provider, granted per object with django-guardian."""

    class Role(models.TextChoices):
        OWNER = "owner", _("负责人")
        TECHNICIAN = "technician", _("维修工程师")

    provider = models.ForeignKey(
        RepairProvider, on_delete=models.CASCADE, related_name="members", verbose_name=_("服务商")
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="repair_provider_member",
        verbose_name=_("用户"),
    )
    role = models.CharField(_("角色"), max_length=12, choices=Role.choices, default=Role.TECHNICIAN)
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("服务商员工")
        verbose_name_plural = _("服务商员工")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=["owner", "technician"]),
                name="repair_provider_member_role_valid",
            )
        ]

    def __str__(self):
        return f"{self.provider} / {self.user}"


class RepairOrder(models.Model):
    """A repair of one unit under its warranty card (standard 6.5, G3–G6, G11, G12).

    ``received_at`` is 送修 (the repairer received the unit, its own ``occurred_at``); G6 counts
    repairer days from it, G5 the parts-shortage limit. ``parts_wait_days`` (closed waits, in
    Shanghai calendar days) and ``parts_wait_since`` (an open wait) mirror the ``PartsWait`` rows
    so the entitlement engine and the sweep read them without another query. Moves between
    statuses: ``repairs.rules.REPAIR_MOVES``.
    """

    class Status(models.TextChoices):
        REQUESTED = "requested", _("已申请")
        ASSIGNED = "assigned", _("已派单")
        RECEIVED = "received", _("已送修")
        DIAGNOSING = "diagnosing", _("检测中")
        WAITING_PARTS = "waiting_parts", _("等待配件")
        REPAIRING = "repairing", _("维修中")
        FIXED = "fixed", _("已修好")
        NOT_FIXED = "not_fixed", _("未修好")
        RETURNED = "returned", _("已返还")
        CLOSED = "closed", _("已关闭")
        CANCELLED = "cancelled", _("已取消")

    class ServiceMode(models.TextChoices):
        SEND_IN = "send_in", _("送修/寄修")
        ON_SITE = "on_site", _("上门维修")

    class Result(models.TextChoices):
        FIXED = "fixed", _("已修好")
        NOT_FIXED = "not_fixed", _("未修好")

    class PaidReason(models.TextChoices):
        MISUSE = "misuse", _("使用、维护、保管不当")
        DISASSEMBLY = "disassembly", _("非承担三包的修理者拆动")
        VOUCHER = "voucher", _("无三包凭证或凭证被涂改")
        FORCE_MAJEURE = "force_majeure", _("不可抗力")
        OUT_OF_PERIOD = "out_of_period", _("超出三包有效期")

    number = models.CharField(_("维修单号"), max_length=32, unique=True)
    card = models.ForeignKey(
        WarrantyCard, on_delete=models.PROTECT, related_name="repairs", verbose_name=_("三包凭证")
    )
    order_line = models.ForeignKey(
        "orders.OrderLine",
        on_delete=models.PROTECT,
        related_name="repair_orders",
        verbose_name=_("订单行"),
    )
    merchant = models.ForeignKey(
        "aftersales.Merchant",
        on_delete=models.PROTECT,
        related_name="repair_orders",
        verbose_name=_("商家"),
    )
    consumer = models.ForeignKey(
        "aftersales.ConsumerProfile",
        on_delete=models.PROTECT,
        related_name="repair_orders",
        verbose_name=_("消费者"),
    )
    provider = models.ForeignKey(
        RepairProvider,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="repair_orders",
        verbose_name=_("维修服务商"),
    )
    fault_description = models.TextField(_("故障描述"))
    service_mode = models.CharField(
        _("服务方式"), max_length=10, choices=ServiceMode.choices, default=ServiceMode.SEND_IN
    )
    fault_reported_at = models.DateTimeField(_("报修时间"), default=clock.now)
    status = models.CharField(
        _("状态"), max_length=16, choices=Status.choices, default=Status.REQUESTED
    )
    entitlement_rule = models.CharField(
        _("依据"), max_length=8, blank=True, help_text=_("受理时的三包依据：G3 / G12 / G11 / G9")
    )
    assigned_at = models.DateTimeField(_("派单时间"), null=True, blank=True)
    received_at = models.DateTimeField(_("送修时间"), null=True, blank=True)
    diagnosed_at = models.DateTimeField(_("检测时间"), null=True, blank=True)
    repairing_at = models.DateTimeField(_("开始维修时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    returned_at = models.DateTimeField(_("返还时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("取消时间"), null=True, blank=True)
    diagnosis = models.TextField(_("检测结论"), blank=True)
    result = models.CharField(_("维修结果"), max_length=10, choices=Result.choices, blank=True)
    result_note = models.TextField(_("维修说明"), blank=True)
    parts_replaced = models.JSONField(
        _("更换部件"),
        default=list,
        blank=True,
        help_text=_('形如 [{"name": "显示屏", "quantity": 1}]'),
    )
    labour_fee = models.DecimalField(
        _("人工费"), max_digits=12, decimal_places=2, default=Decimal("0.00")
    )
    parts_fee = models.DecimalField(
        _("配件费"), max_digits=12, decimal_places=2, default=Decimal("0.00")
    )
    is_paid = models.BooleanField(_("付费维修"), default=False)
    paid_reason = models.CharField(
        _("付费原因"), max_length=16, choices=PaidReason.choices, blank=True
    )
    parts_wait_days = models.PositiveIntegerField(_("已结束的等待配件天数"), default=0)
    parts_wait_since = models.DateTimeField(_("等待配件开始"), null=True, blank=True)
    reopened_from = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reopenings",
        verbose_name=_("重修自"),
        help_text=_("修复后 30 日内再次故障（G12）"),
    )
    reopened_at = models.DateTimeField(
        _("视为未修好时间"),
        null=True,
        blank=True,
        help_text=_("30 日内再次故障，视为未修好（G12）"),
    )
    updated_at = models.DateTimeField(_("更新时间"), default=clock.now)

    OPEN_STATUSES = (
        "requested",
        "assigned",
        "received",
        "diagnosing",
        "waiting_parts",
        "repairing",
    )
    AT_REPAIRER_STATUSES = ("received", "diagnosing", "waiting_parts", "repairing")

    class Meta:
        verbose_name = _("维修单")
        verbose_name_plural = _("维修单")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["merchant", "-id"], name="repair_order_merchant"),
            models.Index(fields=["consumer", "-id"], name="repair_order_consumer"),
            models.Index(fields=["provider", "-id"], name="repair_order_provider"),
            models.Index(fields=["card", "id"], name="repair_order_card"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    status__in=[
                        "requested",
                        "assigned",
                        "received",
                        "diagnosing",
                        "waiting_parts",
                        "repairing",
                        "fixed",
                        "not_fixed",
                        "returned",
                        "closed",
                        "cancelled",
                    ]
                ),
                name="repair_order_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(service_mode__in=["send_in", "on_site"]),
                name="repair_order_service_mode_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(result__in=["", "fixed", "not_fixed"]),
                name="repair_order_result_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(is_paid=False, paid_reason="")
                | models.Q(
                    is_paid=True,
                    paid_reason__in=[
                        "misuse",
                        "disassembly",
                        "voucher",
                        "force_majeure",
                        "out_of_period",
                    ],
                ),
                name="repair_order_paid_has_reason",
            ),
            models.CheckConstraint(
                condition=models.Q(labour_fee__gte=0, parts_fee__gte=0),
                name="repair_order_fees_not_negative",
            ),
            # Nothing but the repairer can have the unit before an assignment.
            models.CheckConstraint(
                condition=models.Q(status__in=["requested", "cancelled"])
                | models.Q(provider__isnull=False),
                name="repair_order_assigned_has_provider",
            ),
        ]

    def __str__(self):
        return self.number

    @property
    def is_open(self):
        return self.status in self.OPEN_STATUSES

    @property
    def total_fee(self):
        return self.labour_fee + self.parts_fee


class PartsWait(models.Model):
    """A period the repair waited for manufacturer parts (G5; not counted against the repairer
    in G6). ``ended_at`` empty while waiting."""

    repair = models.ForeignKey(
        RepairOrder, on_delete=models.CASCADE, related_name="parts_waits", verbose_name=_("维修单")
    )
    started_at = models.DateTimeField(_("开始等待"))
    ended_at = models.DateTimeField(_("配件到货"), null=True, blank=True)
    parts = models.CharField(_("所缺配件"), max_length=200, blank=True)
    note = models.CharField(_("说明"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("等待配件")
        verbose_name_plural = _("等待配件")
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["repair"],
                condition=models.Q(ended_at__isnull=True),
                name="parts_wait_one_open_per_repair",
            ),
            models.CheckConstraint(
                condition=models.Q(ended_at__isnull=True)
                | models.Q(ended_at__gte=models.F("started_at")),
                name="parts_wait_ordered",
            ),
        ]

    def __str__(self):
        return f"{self.repair_id} {self.started_at:%Y-%m-%d} → {self.ended_at or '…'}"


class RepairEvidence(models.Model):
    """A photo, video or report attached to a repair (fault photos, inspection report)."""

    class Kind(models.TextChoices):
        PHOTO = "photo", _("照片")
        VIDEO = "video", _("视频")
        REPORT = "report", _("检测报告")

    repair = models.ForeignKey(
        RepairOrder, on_delete=models.CASCADE, related_name="evidence", verbose_name=_("维修单")
    )
    kind = models.CharField(_("类型"), max_length=8, choices=Kind.choices, default=Kind.PHOTO)
    file = models.FileField(_("文件"), upload_to=evidence_upload_to, max_length=200)
    original_name = models.CharField(
        _("原文件名"), max_length=ORIGINAL_NAME_LENGTH, blank=True, editable=False
    )
    caption = models.CharField(_("说明"), max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("上传人"),
    )
    actor_label = models.CharField(_("上传方"), max_length=150, blank=True)
    uploaded_at = models.DateTimeField(_("上传时间"), default=clock.now)

    class Meta:
        verbose_name = _("维修凭证")
        verbose_name_plural = _("维修凭证")
        ordering = ["uploaded_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["photo", "video", "report"]),
                name="repair_evidence_kind_valid",
            )
        ]

    def __str__(self):
        return f"{self.repair_id} {self.get_kind_display()} {self.caption}"

    @property
    def display_name(self):
        """The uploader's file name (the stored one is random)."""
        return display_name(self.file, self.original_name)


class WarrantyEscalation(models.Model):
    """The platform's escalation queue: a card earned an exchange (or a refund instead) from its
    repair history — a third fault in the period (G4), parts missing past the limit (G5), more
    than 30 repairer days (G6). The consumer chooses the remedy; staff follow the case up.
    """

    class Rule(models.TextChoices):
        G4 = "G4", _("三包期内修理两次仍不能正常使用")
        G5 = "G5", _("缺少配件超过期限未修好")
        G6 = "G6", _("修理者责任时间超过 30 日")

    class Status(models.TextChoices):
        OPEN = "open", _("待处理")
        RESOLVED = "resolved", _("已处理")

    class Resolution(models.TextChoices):
        EXCHANGE = "exchange", _("换货")
        REFUND = "refund", _("退货退款")
        REPAIR = "repair", _("继续维修")
        DISMISSED = "dismissed", _("不成立")

    card = models.ForeignKey(
        WarrantyCard,
        on_delete=models.PROTECT,
        related_name="escalations",
        verbose_name=_("三包凭证"),
    )
    repair = models.ForeignKey(
        RepairOrder,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="escalations",
        verbose_name=_("维修单"),
    )
    # db_index=False: warranty_escalation_merchant / _consumer lead with them.
    merchant = models.ForeignKey(
        "aftersales.Merchant",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("商家"),
        db_index=False,
    )
    consumer = models.ForeignKey(
        "aftersales.ConsumerProfile",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("消费者"),
        db_index=False,
    )
    rule = models.CharField(_("依据"), max_length=4, choices=Rule.choices)
    granted_remedies = models.JSONField(
        _("可选补救"), default=list, help_text=_('如 ["exchange", "return"]（换货；或折旧退货 G8）')
    )
    cost_borne_by = models.CharField(_("费用承担"), max_length=10, blank=True)
    explanation = models.TextField(_("说明"), blank=True)
    data = models.JSONField(_("判定日期"), default=dict, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.OPEN)
    raised_at = models.DateTimeField(_("发起时间"), default=clock.now)
    chosen_remedy = models.CharField(_("消费者选择"), max_length=10, blank=True)
    return_request_id = models.BigIntegerField(_("退换货申请"), null=True, blank=True)
    resolution = models.CharField(
        _("处理结果"), max_length=10, choices=Resolution.choices, blank=True
    )
    resolution_note = models.TextField(_("处理说明"), blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("处理人"),
    )
    resolved_label = models.CharField(_("处理方"), max_length=150, blank=True)
    resolved_at = models.DateTimeField(_("处理时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("三包升级处理")
        verbose_name_plural = _("三包升级队列")
        ordering = ["-raised_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-raised_at"], name="warranty_escalation_queue"),
            models.Index(fields=["merchant", "-id"], name="warranty_escalation_merchant"),
            models.Index(fields=["consumer", "-id"], name="warranty_escalation_consumer"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rule__in=["G4", "G5", "G6"]), name="warranty_escalation_rule"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["open", "resolved"]),
                name="warranty_escalation_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    resolution__in=["", "exchange", "refund", "repair", "dismissed"]
                ),
                name="warranty_escalation_resolution_valid",
            ),
            # One open case per card and rule: a second timeout of the same kind adds nothing.
            models.UniqueConstraint(
                fields=["card", "rule"],
                condition=models.Q(status="open"),
                name="warranty_escalation_one_open",
            ),
        ]

    def __str__(self):
        return f"{self.rule} {self.card_id} {self.get_status_display()}"
