"""Return, exchange and refund requests, refunds, express-refund ledger and arbitration
(standard 6.3; RULES.md R1–R19).

Workflow lives in ``returns.services``; these models hold fields, constraints and cheap properties.

Design notes for the code built on top (API, pages, admin, analytics):

- ``orders.Shipment`` has no "return" purpose, so the consumer's return parcel is recorded on
  the request itself (``return_carrier``, ``return_tracking_number``, ``return_first_scan_at``,
  ``return_signed_at``); its scans arrive through ``services.return_parcel_scan_record``. The
  replacement parcel of an exchange is an ``orders.Shipment`` of purpose ``replacement``
  (``replacement_shipment``).
- Status timestamps are named ``<status>_at`` (``rules.RETURN_STATUS_TIMESTAMP``), except
  ``requested_at`` (creation) and ``escalated_at`` (entering ``arbitration``).
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator
from django.db import models
from django.db.models import Case, Q, Value, When
from django.db.models.functions import Cast, Concat, LPad
from django.utils.translation import gettext_lazy as _

from aftersales import clock
from aftersales.casefile.files import ORIGINAL_NAME_LENGTH, display_name, random_name
from aftersales.tenancy.models import ConsumerProfile, Merchant, User
from orders.models import (
    GatewayRefund,
    GatewayTransfer,
    Order,
    OrderLine,
    PickupBooking,
    Shipment,
    Sku,
    Tender,
)

from . import rules

ZERO = Decimal("0.00")


def _values(choices):
    return [value for value, _label in choices]


class ReturnRequestKind(models.TextChoices):
    REFUND_ONLY = "refund_only", _("仅退款")
    RETURN_REFUND = "return_refund", _("退货退款")
    EXCHANGE = "exchange", _("换货")
    SPEC_EXCHANGE = "spec_exchange", _("换规格/型号")


class ReturnRequestReason(models.TextChoices):
    NO_REASON = "no_reason", _("七天无理由")
    CHANGED_MIND = "changed_mind", _("不想要了")
    WRONG_SIZE = "wrong_size", _("尺码/规格不合适")
    QUALITY = "quality", _("质量问题")
    DAMAGED = "damaged", _("商品破损")
    NOT_AS_DESCRIBED = "not_as_described", _("与描述不符")
    WRONG_ITEM = "wrong_item", _("发错货")
    MISSING_PARTS = "missing_parts", _("少件/漏发")
    WARRANTY = "warranty", _("三包")


class ReturnRequestStatus(models.TextChoices):
    REQUESTED = "requested", _("待商家处理")
    APPROVED = "approved", _("已同意，待寄回")
    REJECTED = "rejected", _("商家已拒绝")
    RETURN_SHIPPED = "return_shipped", _("买家已寄回")
    RECEIVED = "received", _("商家已收货")
    DISPUTED = "disputed", _("商家验货有异议")
    ARBITRATION = "arbitration", _("平台仲裁中")
    REFUNDING = "refunding", _("退款中")
    REFUNDED = "refunded", _("已退款")
    EXCHANGE_SHIPPED = "exchange_shipped", _("换货已发出")
    COMPLETED = "completed", _("已完成")
    CLOSED = "closed", _("已关闭")
    CANCELLED = "cancelled", _("已撤销")


class ReturnRequestShippingPayer(models.TextChoices):
    CONSUMER = "consumer", _("消费者")
    MERCHANT = "merchant", _("商家")
    INSURANCE = "insurance", _("运费险")


class ReturnRequestReasonKind(models.TextChoices):
    NO_REASON = "no_reason", _("无理由")
    QUALITY = "quality", _("质量问题")


class ReturnRequestOption(models.TextChoices):
    """The entitlement a request was granted under (``rules.OPTION_KINDS``, or a 三包 remedy)."""

    REFUND_ONLY_UNSHIPPED = "refund_only_unshipped", _("未发货仅退款（秒退）")
    NO_REASON_RETURN = "no_reason_return", _("七天无理由退货")
    SPEC_EXCHANGE = "spec_exchange", _("换规格/型号")
    QUALITY_RETURN = "quality_return", _("质量问题退货")
    QUALITY_EXCHANGE = "quality_exchange", _("质量问题换货")
    WARRANTY = "warranty", _("三包退换")


class ReturnRequestOrigin(models.TextChoices):
    CONSUMER = "consumer", _("消费者申请")
    WARRANTY = "warranty", _("三包处理")


class ReturnAddress(models.Model):
    """Where a merchant's warehouse takes returned goods (one per warehouse). The merchant
    marks one default; the approval of a request picks one (the default unless the merchant
    chooses), and the consumer's ship-back step shows it. Archived, never deleted: requests
    keep the address they were approved with."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="+", verbose_name=_("商家")
    )
    warehouse = models.CharField(_("仓库"), max_length=60)
    contact_name = models.CharField(_("收件人"), max_length=40)
    phone = models.CharField(_("联系电话"), max_length=20)
    province = models.CharField(_("省"), max_length=40)
    city = models.CharField(_("市"), max_length=40)
    district = models.CharField(_("区县"), max_length=40, blank=True)
    street = models.CharField(_("详细地址"), max_length=200)
    postal_code = models.CharField(_("邮编"), max_length=10, blank=True)
    is_default = models.BooleanField(_("默认地址"), default=False)
    active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), default=clock.now)
    updated_at = models.DateTimeField(_("更新时间"), default=clock.now)

    class Meta:
        verbose_name = _("退货地址")
        verbose_name_plural = _("退货地址")
        ordering = ["-is_default", "warehouse", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "warehouse"],
                condition=Q(active=True),
                name="return_address_one_per_warehouse",
            ),
            models.UniqueConstraint(
                fields=["merchant"],
                condition=Q(active=True, is_default=True),
                name="return_address_one_default",
            ),
        ]

    def __str__(self):
        return f"{self.warehouse}：{self.full_text}"

    @property
    def full_text(self):
        """The address as a consumer writes it on the waybill: recipient, phone, address."""
        place = f"{self.province}{self.city}{self.district}{self.street}"
        postal = f"（{self.postal_code}）" if self.postal_code else ""
        return f"{self.contact_name} {self.phone} {place}{postal}"


class ReturnRequest(models.Model):
    """A consumer's request to return, exchange or get a refund for units of an order line.

    ``option``/``rule``/``explanation`` record which entitlement decided it
    (``rules.return_options``, or the 三包 engine for requests made by the repairs app), so the
    case says why it was allowed.
    """

    Kind = ReturnRequestKind
    Reason = ReturnRequestReason

    Status = ReturnRequestStatus
    ShippingPayer = ReturnRequestShippingPayer

    Origin = ReturnRequestOrigin
    ReasonKind = ReturnRequestReasonKind
    Option = ReturnRequestOption

    # The number people quote, ``TH<date><id>``: the Shanghai date it was asked on and the id
    # zero-padded to 5 digits (never cut beyond), written by the database with the row (the
    # insert returns it: no placeholder, no second statement).
    number_day = models.CharField(_("申请日（上海时间）"), max_length=8, editable=False)
    number = models.GeneratedField(
        expression=Concat(
            Value("TH"),
            "number_day",
            Case(
                When(id__lt=100_000, then=LPad(Cast("id", models.CharField()), 5, Value("0"))),
                default=Cast("id", models.CharField()),
            ),
        ),
        output_field=models.CharField(max_length=40),
        db_persist=True,
        unique=True,
        verbose_name=_("售后单号"),
    )
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="return_requests", verbose_name=_("订单")
    )
    # db_index=False: the Meta indexes lead with these columns (no second index per insert).
    line = models.ForeignKey(
        OrderLine,
        on_delete=models.PROTECT,
        related_name="return_requests",
        db_index=False,
        verbose_name=_("订单行"),
    )
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="+", db_index=False, verbose_name=_("商家")
    )
    consumer = models.ForeignKey(
        ConsumerProfile,
        on_delete=models.PROTECT,
        related_name="return_requests",
        db_index=False,
        verbose_name=_("消费者"),
    )
    origin = models.CharField(
        _("来源"), max_length=10, choices=Origin.choices, default=Origin.CONSUMER
    )
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    reason = models.CharField(_("原因"), max_length=20, choices=Reason.choices)
    reason_kind = models.CharField(_("原因类别"), max_length=10, choices=ReturnRequestReasonKind)
    option = models.CharField(_("依据选项"), max_length=30, blank=True, choices=ReturnRequestOption)
    rule = models.CharField(_("依据规则"), max_length=10, blank=True)
    explanation = models.TextField(_("依据说明"), blank=True)
    quantity = models.PositiveIntegerField(_("数量"))
    description = models.TextField(_("问题描述"), blank=True)
    amount = models.DecimalField(_("退款金额"), max_digits=12, decimal_places=2)
    shipping_payer = models.CharField(
        _("退货运费承担方"), max_length=10, choices=ShippingPayer.choices, blank=True
    )
    shipping_rule = models.CharField(_("运费规则"), max_length=4, blank=True)
    shipping_explanation = models.CharField(_("运费说明"), max_length=200, blank=True)
    insured = models.BooleanField(_("保价"), default=False)
    exchange_sku = models.ForeignKey(
        Sku,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("换成的规格"),
    )
    price_difference = models.DecimalField(
        _("差价"),
        max_digits=12,
        decimal_places=2,
        default=ZERO,
        help_text=_("正数：消费者补差价；负数：退还差价（R18）"),
    )
    return_shipping_fee = models.DecimalField(
        _("退货运费"),
        max_digits=8,
        decimal_places=2,
        default=ZERO,
        help_text=_("消费者自行寄回时申报的运费或上门取件的运费；商家承担时随退款报销（R9）"),
    )
    return_carrier = models.CharField(_("退货承运商"), max_length=40, blank=True)
    return_tracking_number = models.CharField(_("退货运单号"), max_length=64, blank=True)
    return_first_scan_at = models.DateTimeField(_("退货首次揽收"), null=True, blank=True)
    return_signed_at = models.DateTimeField(_("退货签收"), null=True, blank=True)
    pickup_slot_start = models.DateTimeField(_("期望取件开始"), null=True, blank=True)
    pickup_slot_end = models.DateTimeField(_("期望取件结束"), null=True, blank=True)
    pickup = models.ForeignKey(
        PickupBooking,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("上门取件"),
    )
    return_address = models.ForeignKey(
        ReturnAddress,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("退货地址"),
    )
    replacement_shipment = models.ForeignKey(
        Shipment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("换货包裹"),
    )
    inspection_intact = models.BooleanField(_("验货完好"), null=True, blank=True)
    inspection_note = models.TextField(_("验货说明"), blank=True)
    status = models.CharField(
        _("状态"), max_length=20, choices=Status.choices, default=Status.REQUESTED
    )
    status_reason = models.TextField(_("最近处理原因"), blank=True)
    express = models.BooleanField(_("极速退款"), default=False)
    requested_at = models.DateTimeField(_("申请时间"), default=clock.now)
    approved_at = models.DateTimeField(_("同意时间"), null=True, blank=True)
    rejected_at = models.DateTimeField(_("拒绝时间"), null=True, blank=True)
    return_shipped_at = models.DateTimeField(_("寄回时间"), null=True, blank=True)
    received_at = models.DateTimeField(_("收货时间"), null=True, blank=True)
    disputed_at = models.DateTimeField(_("异议时间"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("申请仲裁时间"), null=True, blank=True)
    refunding_at = models.DateTimeField(_("退款发起时间"), null=True, blank=True)
    refunded_at = models.DateTimeField(_("退款完成时间"), null=True, blank=True)
    exchange_shipped_at = models.DateTimeField(_("换货发出时间"), null=True, blank=True)
    completed_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("售后申请")
        verbose_name_plural = _("售后申请")
        indexes = [
            models.Index(fields=["merchant", "status", "-id"]),
            models.Index(fields=["merchant", "-id"]),
            models.Index(fields=["consumer", "-id"]),
            models.Index(fields=["line", "status"]),
            models.Index(fields=["status", "-id"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=_values(ReturnRequestStatus.choices)),
                name="return_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=_values(ReturnRequestKind.choices)), name="return_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(reason__in=_values(ReturnRequestReason.choices)),
                name="return_reason_valid",
            ),
            models.CheckConstraint(
                condition=Q(origin__in=_values(ReturnRequestOrigin.choices)),
                name="return_origin_valid",
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="return_quantity_positive"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="return_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(return_shipping_fee__gte=0), name="return_shipping_fee_not_negative"
            ),
        ]

    def __str__(self):
        return self.number

    @property
    def is_open(self):
        return self.status in rules.OPEN_STATUSES

    @property
    def needs_return_parcel(self):
        """Every kind but refund-only sends the goods back."""
        return self.kind != self.Kind.REFUND_ONLY

    @property
    def is_exchange(self):
        return self.kind in (self.Kind.EXCHANGE, self.Kind.SPEC_EXCHANGE)

    def can_cancel(self):
        return self.status in rules.CANCELLABLE_STATUSES

    def can_escalate(self):
        return self.status in rules.ESCALATABLE_STATUSES


EVIDENCE_EXTENSIONS = {
    "photo": ("jpg", "jpeg", "png", "webp", "heic", "gif"),
    "video": ("mp4", "mov", "webm", "m4v"),
    "report": ("pdf", "jpg", "jpeg", "png"),
    "other": ("pdf", "jpg", "jpeg", "png", "webp", "mp4", "mov", "txt"),
}
EVIDENCE_MAX_BYTES = {"photo": 10 * 1024**2, "video": 100 * 1024**2}
EVIDENCE_DEFAULT_MAX_BYTES = 20 * 1024**2


def evidence_upload_to(instance, filename):
    """A random name (``aftersales.casefile.files.random_name``): files are served only through
    the views that check access to the request."""
    return random_name("returns/evidence", filename)


def validate_evidence_size(file):
    if file.size is not None and file.size > max(EVIDENCE_MAX_BYTES.values()):
        raise ValidationError(_("文件过大"), code="evidence_too_large")


class ReturnEvidenceParty(models.TextChoices):
    CONSUMER = "consumer", _("消费者")
    MERCHANT = "merchant", _("商家")
    PLATFORM = "platform", _("平台")
    INSPECTOR = "inspector", _("第三方检测")


class ReturnEvidenceKind(models.TextChoices):
    PHOTO = "photo", _("照片")
    VIDEO = "video", _("视频")
    REPORT = "report", _("检测报告")
    OTHER = "other", _("其他")


class ReturnEvidence(models.Model):
    """A photo, video or report attached to a request by one side (R5, R19)."""

    Party = ReturnEvidenceParty
    Kind = ReturnEvidenceKind

    request = models.ForeignKey(
        ReturnRequest, on_delete=models.CASCADE, related_name="evidence", verbose_name=_("售后申请")
    )
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="+", verbose_name=_("商家")
    )
    party = models.CharField(_("提交方"), max_length=10, choices=Party.choices)
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    file = models.FileField(
        _("文件"),
        upload_to=evidence_upload_to,
        max_length=300,
        blank=True,
        validators=[
            FileExtensionValidator(sorted({e for v in EVIDENCE_EXTENSIONS.values() for e in v})),
            validate_evidence_size,
        ],
    )
    original_name = models.CharField(
        _("原文件名"), max_length=ORIGINAL_NAME_LENGTH, blank=True, editable=False
    )
    note = models.CharField(_("说明"), max_length=500, blank=True)
    stage = models.CharField(
        _("环节"),
        max_length=20,
        blank=True,
        help_text=_("提交凭证时所处的环节：申请、拒绝、验货、仲裁或售后状态"),
    )
    uploaded_by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("提交人账号"),
    )
    uploaded_by_label = models.CharField(_("提交人"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("提交时间"), default=clock.now)

    class Meta:
        verbose_name = _("售后凭证")
        verbose_name_plural = _("售后凭证")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(party__in=_values(ReturnEvidenceParty.choices)),
                name="return_evidence_party_valid",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=_values(ReturnEvidenceKind.choices)),
                name="return_evidence_kind_valid",
            ),
        ]

    def __str__(self):
        return f"{self.get_party_display()} {self.get_kind_display()}"

    @property
    def display_name(self):
        """The uploader's file name (the stored one is random)."""
        return display_name(self.file, self.original_name)


class RefundStatus(models.TextChoices):
    PENDING = "pending", _("退款中")
    SUCCEEDED = "succeeded", _("退款成功")
    FAILED = "failed", _("退款失败")
    PARTLY_FAILED = "partly_failed", _("部分失败")


class RefundSource(models.TextChoices):
    MERCHANT = "merchant", _("商家退款")
    PLATFORM_EXPRESS = "platform_express", _("平台极速退款垫付")


class Refund(models.Model):
    """The refund of a request: one per request, whatever is retried or repeated (R7, R11, R12).

    Split pro rata over the order's original tenders (``RefundPart``); the status follows the
    gateway's answers for the parts.
    """

    Status = RefundStatus
    Source = RefundSource

    request = models.OneToOneField(
        ReturnRequest, on_delete=models.PROTECT, related_name="refund", verbose_name=_("售后申请")
    )
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="+", verbose_name=_("订单")
    )
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="+", verbose_name=_("商家")
    )
    consumer = models.ForeignKey(
        ConsumerProfile, on_delete=models.PROTECT, related_name="+", verbose_name=_("消费者")
    )
    amount = models.DecimalField(_("金额"), max_digits=12, decimal_places=2)
    status = models.CharField(
        _("状态"), max_length=14, choices=Status.choices, default=Status.PENDING
    )
    source = models.CharField(
        _("资金来源"), max_length=16, choices=Source.choices, default=Source.MERCHANT
    )
    retries = models.PositiveSmallIntegerField(_("重试次数"), default=0)
    requested_at = models.DateTimeField(_("发起时间"), default=clock.now)
    settled_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("退款")
        verbose_name_plural = _("退款")
        indexes = [models.Index(fields=["status", "requested_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=_values(RefundStatus.choices)), name="refund_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(source__in=_values(RefundSource.choices)), name="refund_source_valid"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]

    def __str__(self):
        return f"{self.request_id} ¥{self.amount} {self.get_status_display()}"


class RefundPartStatus(models.TextChoices):
    PENDING = "pending", _("处理中")
    SUCCEEDED = "succeeded", _("退款成功")
    FAILED = "failed", _("退款失败")


class RefundPart(models.Model):
    """The share of a refund going back to one original tender (R7), with its gateway request.

    A part that failed is retried with a new gateway request (``attempt`` + 1); the request id
    is ``rf-<refund>-t<tender>-a<attempt>``, so repeating an attempt never pays twice.
    """

    Status = RefundPartStatus

    refund = models.ForeignKey(
        Refund, on_delete=models.CASCADE, related_name="parts", verbose_name=_("退款")
    )
    tender = models.ForeignKey(
        Tender, on_delete=models.PROTECT, related_name="+", verbose_name=_("支付方式")
    )
    line = models.ForeignKey(
        OrderLine, on_delete=models.PROTECT, related_name="+", verbose_name=_("订单行")
    )
    amount = models.DecimalField(_("金额"), max_digits=12, decimal_places=2)
    gateway_refund = models.ForeignKey(
        GatewayRefund,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("支付网关退款"),
    )
    attempt = models.PositiveSmallIntegerField(_("第几次请求"), default=1)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    failure_reason = models.CharField(_("失败原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("退款分项")
        verbose_name_plural = _("退款分项")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["refund", "tender"], name="refund_part_per_tender"),
            models.CheckConstraint(
                condition=Q(status__in=_values(RefundPartStatus.choices)),
                name="refund_part_status_valid",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_part_amount_positive"),
        ]

    def __str__(self):
        return f"{self.tender_id} ¥{self.amount} {self.get_status_display()}"

    def request_id(self):
        return f"rf-{self.refund_id}-t{self.tender_id}-a{self.attempt}"


class ExtraPayment(models.Model):
    """Money of a return besides its refund (``returns.services.payments``), moved through the
    gateway as one ``GatewayTransfer`` per attempt: the fields and methods its kinds share. Each
    kind declares its own ``request`` (one per request), amount, status, attempts and
    constraints, and the prefix of its gateway request ids (``request_id_prefix``)."""

    request_id_prefix = ""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="+", verbose_name=_("商家")
    )
    transfer = models.ForeignKey(
        GatewayTransfer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("支付网关交易"),
    )
    failure_reason = models.CharField(_("失败原因"), max_length=200, blank=True)
    requested_at = models.DateTimeField(_("发起时间"), default=clock.now)

    class Meta:
        abstract = True

    def __str__(self):
        return f"{self.request_id} ¥{self.amount} {self.get_status_display()}"

    def request_id_for(self, attempt=None):
        return f"{self.request_id_prefix}-{self.request_id}-a{attempt or self.attempts}"


class ExchangeDifferencePaymentStatus(models.TextChoices):
    PENDING = "pending", _("支付中")
    SUCCEEDED = "succeeded", _("已支付")
    FAILED = "failed", _("支付失败")
    CANCELLED = "cancelled", _("已取消")
    REFUNDING = "refunding", _("退还中")
    REFUNDED = "refunded", _("已退还")


class ExchangeDifferencePayment(ExtraPayment):
    """The consumer's payment of a positive price difference of a spec exchange (R18): one per
    request, charged through the gateway (``GatewayTransfer`` ``charge``). A failed charge is
    paid again with a new attempt (``xd-<request>-a<attempt>``); a paid difference is given back
    (``refund_transfer``) if the request ends without the exchange (cancelled, rejected,
    closed, refunded instead)."""

    Status = ExchangeDifferencePaymentStatus
    request_id_prefix = "xd"

    request = models.OneToOneField(
        ReturnRequest,
        on_delete=models.PROTECT,
        related_name="difference_payment",
        verbose_name=_("售后申请"),
    )
    amount = models.DecimalField(_("差价金额"), max_digits=12, decimal_places=2)
    method = models.CharField(_("支付方式"), max_length=10, default="card")
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("支付次数"), default=1)
    refund_transfer = models.ForeignKey(
        GatewayTransfer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("差价退还交易"),
    )
    gateway_ref = models.CharField(_("网关流水号"), max_length=80, blank=True)
    paid_at = models.DateTimeField(_("支付时间"), null=True, blank=True)
    refunded_at = models.DateTimeField(_("退还时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("换货差价支付")
        verbose_name_plural = _("换货差价支付")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=_values(ExchangeDifferencePaymentStatus.choices)),
                name="difference_payment_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="difference_payment_amount_positive"
            ),
        ]


class ShippingReimbursementStatus(models.TextChoices):
    PENDING = "pending", _("报销中")
    SUCCEEDED = "succeeded", _("已报销")
    FAILED = "failed", _("报销失败")


class ShippingReimbursement(ExtraPayment):
    """The return shipping fee the merchant pays (R9; R8 with "退货免运费"), paid to the
    consumer with the refund as its own payout (``GatewayTransfer`` ``payout``) to the channel
    of the original card or balance tender, so refunds per tender never exceed what the tender
    paid (R7). One per request; a failed payout is retried with a new attempt."""

    Status = ShippingReimbursementStatus
    request_id_prefix = "rs"

    request = models.OneToOneField(
        ReturnRequest,
        on_delete=models.PROTECT,
        related_name="shipping_reimbursement",
        verbose_name=_("售后申请"),
    )
    amount = models.DecimalField(_("报销金额"), max_digits=8, decimal_places=2)
    tender = models.ForeignKey(
        Tender,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("支付方式"),
    )
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("请求次数"), default=1)
    settled_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("退货运费报销")
        verbose_name_plural = _("退货运费报销")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=_values(ShippingReimbursementStatus.choices)),
                name="shipping_reimbursement_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="shipping_reimbursement_amount_positive"
            ),
        ]


class ExpressRefundLedgerEntryKind(models.TextChoices):
    ADVANCE = "advance", _("平台垫付")
    RECOVERY = "recovery", _("向商家追偿")
    CLAWBACK = "clawback", _("向消费者追回")
    CLAWBACK_CANCELLED = "clawback_cancelled", _("撤销追回")


class ExpressSettlementStatus(models.TextChoices):
    NONE = "none", _("无需结算")
    PENDING = "pending", _("结算中")
    SUCCEEDED = "succeeded", _("已结算")
    FAILED = "failed", _("结算失败")
    CANCELLED = "cancelled", _("已撤销")


class ExpressRefundLedgerEntry(models.Model):
    """The platform's money in an express refund (R12): its advance to the consumer, the
    recovery from the merchant at receipt, and the clawback from the consumer if the parcel
    never arrives (cancelled if it arrives after all). One entry of each kind per request.

    The recovery and the clawback move money through the payment gateway (``transfer``: a
    ``deduction`` from the merchant's settlement, a ``charge`` of the consumer), asynchronously:
    ``settlement_status`` pending → succeeded / failed; a failed one is asked again with a new
    request id (``xr-<request>-<kind>-a<attempt>``). A clawback already charged when the parcel
    arrives after all is paid back (``payout`` on the ``clawback_cancelled`` entry). The advance
    is the refund itself (``Refund``), so it settles nothing here (``none``)."""

    Kind = ExpressRefundLedgerEntryKind
    SettlementStatus = ExpressSettlementStatus

    request = models.ForeignKey(
        ReturnRequest,
        on_delete=models.PROTECT,
        related_name="ledger_entries",
        verbose_name=_("售后申请"),
    )
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="+", verbose_name=_("商家")
    )
    consumer = models.ForeignKey(
        ConsumerProfile, on_delete=models.PROTECT, related_name="+", verbose_name=_("消费者")
    )
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    amount = models.DecimalField(_("金额"), max_digits=12, decimal_places=2)
    occurred_at = models.DateTimeField(_("发生时间"), default=clock.now)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    actor_kind = models.CharField(_("操作人类型"), max_length=12, blank=True)
    actor_user = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作人账号"),
    )
    actor_label = models.CharField(_("操作人"), max_length=150, blank=True)
    settlement_status = models.CharField(
        _("结算状态"),
        max_length=10,
        choices=ExpressSettlementStatus.choices,
        default=ExpressSettlementStatus.NONE,
    )
    transfer = models.ForeignKey(
        GatewayTransfer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("支付网关交易"),
    )
    attempts = models.PositiveSmallIntegerField(_("结算次数"), default=0)
    failure_reason = models.CharField(_("失败原因"), max_length=200, blank=True)
    settled_at = models.DateTimeField(_("结算时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("极速退款台账")
        verbose_name_plural = _("极速退款台账")
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["request", "kind"], name="express_ledger_once"),
            models.CheckConstraint(
                condition=Q(kind__in=_values(ExpressRefundLedgerEntryKind.choices)),
                name="express_ledger_kind_valid",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="express_ledger_positive"),
            models.CheckConstraint(
                condition=Q(settlement_status__in=_values(ExpressSettlementStatus.choices)),
                name="express_ledger_settlement_status_valid",
            ),
        ]

    def __str__(self):
        return f"{self.request_id} {self.get_kind_display()} ¥{self.amount}"

    def request_id_for(self):
        """The gateway request id of this entry's current attempt."""
        return f"xr-{self.request_id}-{self.kind}-a{self.attempts}"


class ArbitrationStatus(models.TextChoices):
    OPEN = "open", _("待裁决")
    INSPECTING = "inspecting", _("第三方检测中")
    DECIDED = "decided", _("已裁决")


class ArbitrationDecision(models.TextChoices):
    REFUND_FULL = "refund_full", _("全额退款")
    REFUND_PARTIAL = "refund_partial", _("部分退款")
    REJECT = "reject", _("驳回")


class Arbitration(models.Model):
    """Platform arbitration of a rejected or disputed request (R19; standard 6.3.3): both
    sides' statements and evidence, optional third-party inspection, a binding decision."""

    Status = ArbitrationStatus
    Decision = ArbitrationDecision

    request = models.OneToOneField(
        ReturnRequest,
        on_delete=models.PROTECT,
        related_name="arbitration",
        verbose_name=_("售后申请"),
    )
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="+", verbose_name=_("商家")
    )
    consumer = models.ForeignKey(
        ConsumerProfile, on_delete=models.PROTECT, related_name="+", verbose_name=_("消费者")
    )
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default="open")
    opened_at = models.DateTimeField(_("发起时间"), default=clock.now)
    opened_by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("发起人账号"),
    )
    opened_by_label = models.CharField(_("发起人"), max_length=150, blank=True)
    consumer_statement = models.TextField(_("消费者陈述"), blank=True)
    merchant_statement = models.TextField(_("商家陈述"), blank=True)
    merchant_answered_at = models.DateTimeField(_("商家答辩时间"), null=True, blank=True)
    answer_due_at = models.DateTimeField(
        _("商家答辩期限"),
        null=True,
        blank=True,
        help_text=_("商家在此之前答辩；平台在答辩后或此时之后裁决（R21）"),
    )
    decision = models.CharField(_("裁决"), max_length=16, choices=Decision.choices, blank=True)
    decided_amount = models.DecimalField(
        _("裁决退款金额"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    decided_by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("裁决人账号"),
    )
    decided_by_label = models.CharField(_("裁决人"), max_length=150, blank=True)
    decided_at = models.DateTimeField(_("裁决时间"), null=True, blank=True)
    inspecting_at = models.DateTimeField(_("送检时间"), null=True, blank=True)
    reason = models.TextField(_("裁决理由"), blank=True)

    class Meta:
        verbose_name = _("平台仲裁")
        verbose_name_plural = _("平台仲裁")
        indexes = [models.Index(fields=["status", "opened_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=_values(ArbitrationStatus.choices)),
                name="arbitration_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(decision="") | Q(decision__in=_values(ArbitrationDecision.choices)),
                name="arbitration_decision_valid",
            ),
        ]

    def __str__(self):
        return f"{self.request_id} {self.get_status_display()}"

    def decidable_at(self, now):
        """Whether the platform may decide at ``now`` (RULES.md R21): after the merchant's
        answer or the end of the answer window, never before."""
        return (
            self.merchant_answered_at is not None
            or self.answer_due_at is None
            or now >= self.answer_due_at
        )


ARBITRATION_MOVES = {
    "open": {"inspecting", "decided"},
    "inspecting": {"open", "decided"},
    "decided": set(),
}
"""Allowed moves of an arbitration: an inspection report brings it back to ``open``."""


class InspectionRequestStatus(models.TextChoices):
    REQUESTED = "requested", _("已送检")
    REPORTED = "reported", _("已出报告")
    FAILED = "failed", _("送检失败")


class InspectionRequestResult(models.TextChoices):
    INTACT = "intact", _("完好")
    NOT_INTACT = "not_intact", _("不完好")


class InspectionRequest(models.Model):
    """A third-party inspection asked for in arbitration, answered by the inspection adapter."""

    Status = InspectionRequestStatus
    Result = InspectionRequestResult

    arbitration = models.ForeignKey(
        Arbitration, on_delete=models.CASCADE, related_name="inspections", verbose_name=_("仲裁")
    )
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="+", verbose_name=_("商家")
    )
    provider = models.CharField(_("检测机构"), max_length=40)
    request_id = models.CharField(_("请求号"), max_length=80, unique=True)
    external_ref = models.CharField(_("检测单号"), max_length=80, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default="requested")
    result = models.CharField(_("结论"), max_length=12, choices=Result.choices, blank=True)
    report = models.TextField(_("报告"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    last_error = models.CharField(_("最近错误"), max_length=200, blank=True)
    requested_at = models.DateTimeField(_("送检时间"), default=clock.now)
    reported_at = models.DateTimeField(_("报告时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("第三方检测")
        verbose_name_plural = _("第三方检测")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=_values(InspectionRequestStatus.choices)),
                name="inspection_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(result="") | Q(result__in=_values(InspectionRequestResult.choices)),
                name="inspection_result_valid",
            ),
        ]

    def __str__(self):
        return f"{self.provider} {self.external_ref or self.request_id} {self.get_status_display()}"


class ShippingInsuranceClaimStatus(models.TextChoices):
    REQUESTED = "requested", _("理赔中")
    PAID = "paid", _("已赔付")
    REJECTED = "rejected", _("拒赔")
    FAILED = "failed", _("理赔失败")


class ShippingInsuranceClaim(models.Model):
    """A claim of the return shipping of a no-reason return from the return-shipping insurance
    (运费险) bought at checkout (RULES.md R8): sent to the insurer adapter when the parcel ships
    back, answered asynchronously (paid to the consumer, rejected, or failed after retries); the
    consumer pays nothing."""

    Status = ShippingInsuranceClaimStatus

    request = models.OneToOneField(
        ReturnRequest,
        on_delete=models.PROTECT,
        related_name="insurance_claim",
        verbose_name=_("售后申请"),
    )
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="+", verbose_name=_("商家")
    )
    insurer = models.CharField(_("保险公司"), max_length=40)
    claim_ref = models.CharField(
        _("请求号"), max_length=80, unique=True, help_text=_("保险公司据此去重")
    )
    amount = models.DecimalField(_("申请赔付运费"), max_digits=12, decimal_places=2)
    paid_amount = models.DecimalField(
        _("赔付金额"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default="requested")
    external_ref = models.CharField(_("理赔单号"), max_length=80, blank=True)
    reason = models.CharField(_("拒赔或失败原因"), max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    requested_at = models.DateTimeField(_("申请时间"), default=clock.now)
    settled_at = models.DateTimeField(_("结案时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("运费险理赔")
        verbose_name_plural = _("运费险理赔")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=_values(ShippingInsuranceClaimStatus.choices)),
                name="insurance_claim_status_valid",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="insurance_claim_amount_ok"),
        ]

    def __str__(self):
        return f"{self.insurer} {self.external_ref or self.claim_ref} {self.get_status_display()}"
