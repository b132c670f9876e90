"""Catalog, orders, payments and logistics (standard 6.2).

These rows are fed by integrators (the shop, payment and carrier systems) through the API;
after-sales cases in the apps below refer to them.
"""

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from aftersales import clock
from aftersales.pii import EncryptedTextField, mask_address, mask_name, mask_phone
from aftersales.tenancy.models import ConsumerProfile, Merchant, User

from . import rules


class NoReasonClass(models.TextChoices):
    """How a category stands towards the 7-day no-reason return (RULES.md R1–R4)."""

    ALLOWED = "allowed", _("支持七天无理由退货")
    EXCLUDED_BY_LAW = "excluded_by_law", _("依法不适用（定作、鲜活易腐、数字商品、报刊）")
    EXCLUDABLE = "excludable", _("经消费者确认可不适用")


class ExclusionReason(models.TextChoices):
    """Why a category is excluded from the no-reason return: by law (RULES.md R2;
    网络购买商品七日无理由退货暂行办法 art. 6) or by nature with the consumer's consent at checkout
    (R3; art. 7)."""

    CUSTOM_MADE = "custom_made", _("消费者定作")
    PERISHABLE = "perishable", _("鲜活易腐")
    DIGITAL = "digital", _("数字化商品（在线下载或拆封后）")
    PERIODICAL = "periodical", _("已交付的报纸、期刊")
    HEALTH_SAFETY = "health_safety", _("拆封后易影响人身安全、生命健康或商品品质")
    ACTIVATION_VALUE = "activation_value", _("激活或试用后价值贬损较大")
    NEAR_EXPIRY = "near_expiry", _("已明示的临期或有瑕疵商品")


class Category(models.Model):
    """A product category with its no-reason-return class and installation need."""

    code = models.SlugField(_("类目编码"), max_length=40, unique=True)
    name = models.CharField(_("类目名称"), max_length=80)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("上级类目"),
    )
    no_reason_class = models.CharField(
        _("无理由退货"), max_length=20, choices=NoReasonClass.choices, default=NoReasonClass.ALLOWED
    )
    exclusion_reason = models.CharField(
        _("不适用原因"),
        max_length=40,
        blank=True,
        choices=ExclusionReason.choices,
        help_text=_("支持七天无理由退货的类目为空"),
    )
    needs_installation = models.BooleanField(_("需要安装"), default=False)
    sanbao_code = models.CharField(
        _("三包目录"), max_length=40, blank=True, help_text=_("三包目录条目编码，非三包商品为空")
    )

    class Meta:
        verbose_name = _("类目")
        verbose_name_plural = _("类目")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(no_reason_class__in=["allowed", "excluded_by_law", "excludable"]),
                name="category_no_reason_class_valid",
            )
        ]

    def __str__(self):
        return self.name


class Product(models.Model):
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="products", verbose_name=_("商家")
    )
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="products", verbose_name=_("类目")
    )
    external_id = models.CharField(_("外部编号"), max_length=64, blank=True)
    name = models.CharField(_("商品名称"), max_length=200)
    price_protection_days = models.PositiveSmallIntegerField(
        _("价保天数"),
        null=True,
        blank=True,
        help_text=_("带价保标识的商品：7、15 或 30 天；空为无价保"),
    )
    is_active = models.BooleanField(_("在售"), default=True)
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("商品")
        verbose_name_plural = _("商品")
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "external_id"],
                condition=~Q(external_id=""),
                name="product_external_id_per_merchant",
            ),
            models.CheckConstraint(
                condition=Q(price_protection_days__isnull=True)
                | Q(price_protection_days__in=[7, 15, 30]),
                name="product_price_protection_days_valid",
            ),
        ]

    def __str__(self):
        return self.name


class Sku(models.Model):
    """A sellable spec of a product (colour, size, model) with its current price and stock."""

    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="skus", verbose_name=_("商品")
    )
    code = models.CharField(_("SKU 编码"), max_length=64, unique=True)
    spec = models.CharField(_("规格"), max_length=120, blank=True)
    price = models.DecimalField(_("现价"), max_digits=12, decimal_places=2)
    stock = models.IntegerField(_("库存"), default=0)

    class Meta:
        verbose_name = _("SKU")
        verbose_name_plural = _("SKU")
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="sku_price_not_negative")
        ]

    def __str__(self):
        return f"{self.product.name} {self.spec}".strip()


class PriceChange(models.Model):
    """The price history of a SKU: each price and the instant it took effect."""

    sku = models.ForeignKey(
        Sku, on_delete=models.CASCADE, related_name="price_history", verbose_name=_("SKU")
    )
    price = models.DecimalField(_("价格"), max_digits=12, decimal_places=2)
    effective_at = models.DateTimeField(_("生效时间"), default=clock.now)

    class Meta:
        verbose_name = _("价格变动")
        verbose_name_plural = _("价格变动")
        indexes = [models.Index(fields=["sku", "-effective_at"])]
        ordering = ["-effective_at"]

    def __str__(self):
        return f"{self.sku_id} ¥{self.price} @ {self.effective_at:%Y-%m-%d %H:%M}"


class Order(models.Model):
    """An order placed by a consumer at a merchant; the shipping address is a snapshot."""

    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", _("待付款")
        PAID = "paid", _("已付款")
        PARTIALLY_SHIPPED = "partially_shipped", _("部分发货")
        SHIPPED = "shipped", _("已发货")
        DELIVERED = "delivered", _("已签收")
        COMPLETED = "completed", _("已完成")
        CANCELLED = "cancelled", _("已取消")

    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="orders", verbose_name=_("商家")
    )
    consumer = models.ForeignKey(
        ConsumerProfile, on_delete=models.PROTECT, related_name="orders", verbose_name=_("消费者")
    )
    number = models.CharField(_("订单号"), max_length=40, unique=True)
    status = models.CharField(
        _("状态"), max_length=20, choices=Status.choices, default=Status.PENDING_PAYMENT
    )
    placed_at = models.DateTimeField(_("下单时间"), default=clock.now)
    paid_at = models.DateTimeField(_("付款时间"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    completed_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("取消时间"), null=True, blank=True)
    total_amount = models.DecimalField(
        _("实付总额"), max_digits=12, decimal_places=2, default=Decimal("0.00")
    )
    ship_name = EncryptedTextField(_("收件人"), blank=True)
    ship_phone = EncryptedTextField(_("收件电话"), blank=True)
    ship_province = models.CharField(_("省"), max_length=20, blank=True)
    ship_city = models.CharField(_("市"), max_length=20, blank=True)
    ship_district = models.CharField(_("区县"), max_length=20, blank=True)
    ship_street = EncryptedTextField(_("街道地址"), blank=True)
    ship_unit = EncryptedTextField(_("门牌/房间号"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("订单")
        verbose_name_plural = _("订单")
        indexes = [
            models.Index(fields=["merchant", "-id"]),
            models.Index(fields=["consumer", "-id"]),
            models.Index(fields=["merchant", "status", "-id"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "pending_payment",
                        "paid",
                        "partially_shipped",
                        "shipped",
                        "delivered",
                        "completed",
                        "cancelled",
                    ]
                ),
                name="order_status_valid",
            )
        ]

    def __str__(self):
        return self.number

    @property
    def masked_ship_name(self):
        return mask_name(self.ship_name)

    @property
    def masked_ship_phone(self):
        return mask_phone(self.ship_phone)

    @property
    def masked_ship_address(self):
        return mask_address(
            province=self.ship_province,
            city=self.ship_city,
            district=self.ship_district,
            street=self.ship_street,
        )


class OrderLine(models.Model):
    """One SKU in an order: quantity, unit price, allocated discount and paid amount.

    ``exclusion_confirmed_at`` records that the consumer confirmed at checkout that this line
    is excluded from the no-reason return (RULES.md R3); without it, R4 applies.
    ``unsealed_at`` records that digital goods (音像制品、软件) were downloaded or unsealed, by the
    consumer's confirmation or a download event (``unsealed_via``): only then does R2 exclude
    the line from the no-reason return.
    """

    class UnsealedVia(models.TextChoices):
        CONSUMER = "consumer_confirmation", _("消费者确认已拆封")
        DOWNLOAD = "download", _("下载记录")

    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="lines", verbose_name=_("订单")
    )
    sku = models.ForeignKey(
        Sku, on_delete=models.PROTECT, related_name="order_lines", verbose_name=_("SKU")
    )
    product_name = models.CharField(_("商品名称"), max_length=200)
    spec = models.CharField(_("规格"), max_length=120, blank=True)
    quantity = models.PositiveIntegerField(_("数量"))
    unit_price = models.DecimalField(_("单价"), max_digits=12, decimal_places=2)
    discount_amount = models.DecimalField(
        _("分摊优惠"), max_digits=12, decimal_places=2, default=Decimal("0.00")
    )
    paid_amount = models.DecimalField(_("实付金额"), max_digits=12, decimal_places=2)
    exclusion_confirmed_at = models.DateTimeField(_("确认不适用无理由退货"), null=True, blank=True)
    return_shipping_insured = models.BooleanField(
        _("运费险"),
        default=False,
        help_text=_("下单时购买的退货运费险：无理由退货运费由保险赔付（R8）"),
    )
    unsealed_at = models.DateTimeField(_("已下载或拆封"), null=True, blank=True)
    unsealed_via = models.CharField(
        _("下载或拆封的记录来源"), max_length=24, choices=UnsealedVia.choices, blank=True
    )
    cancelled_at = models.DateTimeField(
        _("取消时间"),
        null=True,
        blank=True,
        help_text=_("已取消的订单行不能再发货（如未发货秒退 R11）"),
    )
    cancel_reason = models.CharField(_("取消原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("订单行")
        verbose_name_plural = _("订单行")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="line_quantity_positive"),
            models.CheckConstraint(condition=Q(paid_amount__gte=0), name="line_paid_not_negative"),
        ]

    def __str__(self):
        return f"{self.product_name} ×{self.quantity}"

    @property
    def unit_paid_price(self):
        """What one unit actually cost after discounts (R15, R17)."""
        return rules.unit_paid_price(self.paid_amount, self.quantity)


class Payment(models.Model):
    """The payment of an order, made of one or more tenders (RULES.md R7)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待支付")
        SUCCEEDED = "succeeded", _("已支付")
        FAILED = "failed", _("失败")

    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="payments", verbose_name=_("订单")
    )
    external_id = models.CharField(_("支付流水号"), max_length=64, unique=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.SUCCEEDED
    )
    amount = models.DecimalField(_("金额"), max_digits=12, decimal_places=2)
    paid_at = models.DateTimeField(_("支付时间"), default=clock.now)

    class Meta:
        verbose_name = _("支付")
        verbose_name_plural = _("支付")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "succeeded", "failed"]),
                name="payment_status_valid",
            )
        ]

    def __str__(self):
        return f"{self.external_id} ¥{self.amount}"


class Tender(models.Model):
    """One means of payment inside a payment: bank card, balance, points or coupon."""

    class Kind(models.TextChoices):
        CARD = "card", _("银行卡")
        BALANCE = "balance", _("余额")
        POINTS = "points", _("积分")
        COUPON = "coupon", _("优惠券")

    payment = models.ForeignKey(
        Payment, on_delete=models.CASCADE, related_name="tenders", verbose_name=_("支付")
    )
    kind = models.CharField(_("方式"), max_length=10, choices=Kind.choices)
    amount = models.DecimalField(_("金额"), max_digits=12, decimal_places=2)
    reference = models.CharField(_("渠道流水"), max_length=64, blank=True)
    refunded_amount = models.DecimalField(
        _("已退金额"), max_digits=12, decimal_places=2, default=Decimal("0.00")
    )

    class Meta:
        verbose_name = _("支付方式")
        verbose_name_plural = _("支付方式")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["card", "balance", "points", "coupon"]),
                name="tender_kind_valid",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="tender_amount_positive"),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=models.F("amount")),
                name="tender_refund_within_amount",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} ¥{self.amount}"


class Shipment(models.Model):
    """A parcel carrying one order line (standard 6.2.1).

    ``purpose`` tells the first delivery of a line (at most one per line, it drives the order's
    status) from a replacement sent after an exchange or repair.
    """

    class Purpose(models.TextChoices):
        OUTBOUND = "outbound", _("发货")
        REPLACEMENT = "replacement", _("换货/补发")

    class Status(models.TextChoices):
        CREATED = "created", _("待揽收")
        PICKED_UP = "picked_up", _("已揽收")
        IN_TRANSIT = "in_transit", _("运输中")
        OUT_FOR_DELIVERY = "out_for_delivery", _("派送中")
        SIGNED = "signed", _("已签收")
        EXCEPTION = "exception", _("异常")

    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="shipments", verbose_name=_("订单")
    )
    line = models.ForeignKey(
        OrderLine, on_delete=models.PROTECT, related_name="shipments", verbose_name=_("订单行")
    )
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="+", verbose_name=_("商家")
    )
    carrier = models.CharField(_("承运商"), max_length=40)
    tracking_number = models.CharField(_("运单号"), max_length=64)
    status = models.CharField(
        _("状态"), max_length=20, choices=Status.choices, default=Status.CREATED
    )
    purpose = models.CharField(
        _("用途"), max_length=12, choices=Purpose.choices, default=Purpose.OUTBOUND
    )
    insured = models.BooleanField(_("保价"), default=False)
    shipped_at = models.DateTimeField(_("发货时间"), default=clock.now)
    last_event_at = models.DateTimeField(_("最近轨迹时间"), null=True, blank=True)
    signed_at = models.DateTimeField(_("签收时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("发货包裹")
        verbose_name_plural = _("发货包裹")
        indexes = [models.Index(fields=["merchant", "-id"]), models.Index(fields=["order", "id"])]
        constraints = [
            models.UniqueConstraint(
                fields=["carrier", "tracking_number"], name="shipment_tracking_unique"
            ),
            models.UniqueConstraint(
                fields=["line"],
                condition=Q(purpose="outbound"),
                name="shipment_one_outbound_per_line",
            ),
            models.CheckConstraint(
                condition=Q(purpose__in=["outbound", "replacement"]), name="shipment_purpose_valid"
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "created",
                        "picked_up",
                        "in_transit",
                        "out_for_delivery",
                        "signed",
                        "exception",
                    ]
                ),
                name="shipment_status_valid",
            ),
        ]

    def __str__(self):
        return f"{self.carrier} {self.tracking_number}"


class TrackingEvent(models.Model):
    """One node of a parcel's trajectory, kept as dispute evidence (standard 6.2.3.2)."""

    class Kind(models.TextChoices):
        PICKED_UP = "picked_up", _("已揽收")
        IN_TRANSIT = "in_transit", _("运输中")
        OUT_FOR_DELIVERY = "out_for_delivery", _("派送中")
        SIGNED = "signed", _("已签收")
        EXCEPTION = "exception", _("异常")

    shipment = models.ForeignKey(
        Shipment, on_delete=models.CASCADE, related_name="events", verbose_name=_("包裹")
    )
    kind = models.CharField(_("节点"), max_length=20, choices=Kind.choices)
    occurred_at = models.DateTimeField(_("发生时间"))
    location = models.CharField(_("地点"), max_length=120, blank=True)
    description = models.CharField(_("描述"), max_length=300, blank=True)
    external_id = models.CharField(_("承运商事件号"), max_length=64, blank=True)
    recorded_at = models.DateTimeField(_("记录时间"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("物流轨迹")
        verbose_name_plural = _("物流轨迹")
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shipment", "external_id"],
                condition=~Q(external_id=""),
                name="tracking_event_dedup",
            ),
            models.CheckConstraint(
                condition=Q(
                    kind__in=["picked_up", "in_transit", "out_for_delivery", "signed", "exception"]
                ),
                name="tracking_kind_valid",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d %H:%M} {self.location}"


class SignerRelation(models.TextChoices):
    """Who signed for a parcel, as the carrier records it (standard 6.2.3)."""

    SELF = "self", _("本人签收")
    FAMILY = "family", _("家人代签")
    LOCKER = "locker", _("快递柜")
    FRONT_DESK = "front_desk", _("前台/门卫代签")
    COLLEAGUE = "colleague", _("同事代签")
    OTHER = "other", _("他人代签")


class SignOff(models.Model):
    """Who signed for a parcel; an electronic signature above the high-value threshold (6.2.3.1)."""

    shipment = models.OneToOneField(
        Shipment, on_delete=models.CASCADE, related_name="sign_off", verbose_name=_("包裹")
    )
    signer_name = EncryptedTextField(_("签收人"))
    signer_relation = models.CharField(
        _("签收关系"),
        max_length=20,
        default=SignerRelation.SELF,
        choices=SignerRelation.choices,
    )
    signed_at = models.DateTimeField(_("签收时间"))
    e_signature = models.TextField(
        _("电子签名"), blank=True, help_text=_("签名图像（data URL）或签名摘要")
    )
    recorded_by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("记录人"),
    )
    recorded_at = models.DateTimeField(_("记录时间"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("签收记录")
        verbose_name_plural = _("签收记录")

    def __str__(self):
        return f"{self.masked_signer_name} @ {self.signed_at:%Y-%m-%d %H:%M}"

    @property
    def masked_signer_name(self):
        return mask_name(self.signer_name)

    @property
    def has_e_signature(self):
        return bool(self.e_signature)


class GatewayOperation(models.Model):
    """What every request to the payment gateway records: its idempotency key, amount, the
    gateway's answer and the retries (``GatewayRefund``, ``GatewayTransfer``)."""

    request_id = models.CharField(_("请求号"), max_length=80, unique=True)
    amount = models.DecimalField(_("金额"), max_digits=12, decimal_places=2)
    gateway = models.CharField(_("支付网关"), max_length=40)
    gateway_ref = models.CharField(_("网关流水号"), max_length=80, blank=True)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    failure_reason = models.CharField(_("失败原因"), max_length=200, blank=True)
    last_error = models.CharField(_("最近错误"), max_length=200, blank=True)
    requested_at = models.DateTimeField(_("申请时间"), default=clock.now)
    settled_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        abstract = True


class GatewayRefund(GatewayOperation):
    """One refund request to the payment gateway for one tender (RULES.md R7).

    The gateway answers asynchronously: the row starts ``pending`` and is settled later
    (``succeeded`` or ``failed``). ``request_id`` makes the request idempotent: sending it again
    returns the same row. ``Tender.refunded_amount`` grows only when a refund succeeds.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("处理中")
        SUCCEEDED = "succeeded", _("退款成功")
        FAILED = "failed", _("退款失败")

    tender = models.ForeignKey(
        Tender, on_delete=models.PROTECT, related_name="gateway_refunds", verbose_name=_("支付方式")
    )
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="gateway_refunds", verbose_name=_("订单")
    )
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="+", verbose_name=_("商家")
    )
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    reason = models.CharField(_("退款原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("网关退款")
        verbose_name_plural = _("网关退款")
        indexes = [models.Index(fields=["status", "requested_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "succeeded", "failed"]),
                name="gateway_refund_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="gateway_refund_amount_positive"
            ),
        ]

    def __str__(self):
        return f"{self.request_id} ¥{self.amount} {self.get_status_display()}"


class GatewayTransfer(GatewayOperation):
    """Money moved through the payment gateway that is not a refund of a tender (RULES.md R7
    stays about refunds): a ``charge`` collects from the consumer (an exchange's price
    difference, R18; an express refund clawed back, R12); a ``payout`` pays the consumer (return
    shipping reimbursed, R9; a charge given back, ``refund_of``); a ``deduction`` collects from
    the merchant's settlement (an express refund the platform advanced, recovered at receipt,
    R12; ``method`` ``settlement``). ``Tender.refunded_amount`` never changes: a payout to the
    channel of an original ``tender`` is not a refund of what that tender paid.

    Like ``GatewayRefund``: asynchronous (``pending`` → ``succeeded``/``failed``), idempotent by
    ``request_id``, retried by the gateway on timeouts.
    """

    class Direction(models.TextChoices):
        CHARGE = "charge", _("收款")
        PAYOUT = "payout", _("付款")
        DEDUCTION = "deduction", _("结算扣款")

    class Status(models.TextChoices):
        PENDING = "pending", _("处理中")
        SUCCEEDED = "succeeded", _("成功")
        FAILED = "failed", _("失败")

    direction = models.CharField(_("方向"), max_length=10, choices=Direction.choices)
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="gateway_transfers", verbose_name=_("订单")
    )
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="+", verbose_name=_("商家")
    )
    tender = models.ForeignKey(
        Tender,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("支付方式"),
    )
    method = models.CharField(_("渠道"), max_length=10, default="card")
    refund_of = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="refunds",
        verbose_name=_("原收款"),
    )
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    reason = models.CharField(_("事由"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("网关收付款")
        verbose_name_plural = _("网关收付款")
        indexes = [models.Index(fields=["status", "requested_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "succeeded", "failed"]),
                name="gateway_transfer_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(direction__in=["charge", "payout", "deduction"]),
                name="gateway_transfer_direction_valid",
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="gateway_transfer_amount_positive"
            ),
        ]

    def __str__(self):
        return (
            f"{self.get_direction_display()} {self.request_id} ¥{self.amount} "
            f"{self.get_status_display()}"
        )


class PickupBooking(models.Model):
    """A pickup (上门取件) booked with the carrier for a time slot (RULES.md R16, 6.3.2.3).

    ``subject_type``/``subject_id`` name what the parcel belongs to (a return request, a repair
    order); the carrier confirms asynchronously with a tracking number, or refuses the slot.
    """

    class Status(models.TextChoices):
        REQUESTED = "requested", _("已预约")
        CONFIRMED = "confirmed", _("已确认")
        FAILED = "failed", _("预约失败")
        CANCELLED = "cancelled", _("已取消")

    merchant = models.ForeignKey(
        Merchant,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("商家"),
    )
    subject_type = models.CharField(max_length=60, blank=True, verbose_name=_("对象类型"))
    subject_id = models.BigIntegerField(null=True, blank=True, verbose_name=_("对象编号"))
    request_id = models.CharField(_("请求号"), max_length=80, unique=True)
    carrier = models.CharField(_("承运商"), max_length=40)
    slot_start = models.DateTimeField(_("预约开始"))
    slot_end = models.DateTimeField(_("预约结束"))
    contact_name = EncryptedTextField(_("联系人"), blank=True)
    contact_phone = EncryptedTextField(_("联系电话"), blank=True)
    province = models.CharField(_("省"), max_length=20, blank=True)
    city = models.CharField(_("市"), max_length=20, blank=True)
    district = models.CharField(_("区县"), max_length=20, blank=True)
    street = EncryptedTextField(_("街道地址"), blank=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.REQUESTED
    )
    tracking_number = models.CharField(_("运单号"), max_length=64, blank=True)
    failure_reason = models.CharField(_("失败原因"), max_length=200, blank=True)
    requested_at = models.DateTimeField(_("申请时间"), default=clock.now)
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    insured = models.BooleanField(_("保价"), default=False, help_text=_("高价值商品保价（R17）"))
    declared_value = models.DecimalField(
        _("声明价值"), max_digits=12, decimal_places=2, null=True, blank=True
    )

    class Meta:
        verbose_name = _("上门取件预约")
        verbose_name_plural = _("上门取件预约")
        indexes = [models.Index(fields=["subject_type", "subject_id"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["requested", "confirmed", "failed", "cancelled"]),
                name="pickup_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(slot_end__gt=models.F("slot_start")), name="pickup_slot_ordered"
            ),
        ]

    def __str__(self):
        return f"{self.carrier} {self.slot_start:%Y-%m-%d %H:%M} {self.get_status_display()}"

    @property
    def masked_contact_name(self):
        return mask_name(self.contact_name)

    @property
    def masked_contact_phone(self):
        return mask_phone(self.contact_phone)

    @property
    def masked_address(self):
        return mask_address(
            province=self.province, city=self.city, district=self.district, street=self.street
        )


class LogisticsAlert(models.Model):
    """A parcel that needs attention (standard 6.2.1.2): no tracking update for too long after
    pickup, or an exception event. Seen by the consumer, the merchant and the platform's
    logistics queue. Its table keeps the name it had in the kernel (``aftersales_logisticsalert``);
    the shipment and order are referenced by id, as they were there.
    """

    class Reason(models.TextChoices):
        STALE = "stale", _("物流长时间未更新")
        EXCEPTION = "exception", _("物流异常")

    class Status(models.TextChoices):
        OPEN = "open", _("待处理")
        RESOLVED = "resolved", _("已解决")

    shipment_id = models.BigIntegerField(_("包裹"))
    order_id = models.BigIntegerField(_("订单"))
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="+", verbose_name=_("商家")
    )
    consumer = models.ForeignKey(
        ConsumerProfile, on_delete=models.PROTECT, related_name="+", verbose_name=_("消费者")
    )
    reason = models.CharField(_("原因"), max_length=10, choices=Reason.choices)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.OPEN)
    carrier = models.CharField(_("承运商"), max_length=40, blank=True)
    tracking_number = models.CharField(_("运单号"), max_length=64, blank=True)
    last_event_at = models.DateTimeField(_("最近轨迹时间"), null=True, blank=True)
    detail = models.CharField(_("说明"), max_length=300, blank=True)
    raised_at = models.DateTimeField(_("预警时间"), default=clock.now)
    resolved_at = models.DateTimeField(_("解决时间"), null=True, blank=True)

    class Meta:
        db_table = "aftersales_logisticsalert"
        verbose_name = _("物流预警")
        verbose_name_plural = _("物流预警")
        ordering = ["-raised_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-raised_at"], name="logistics_alert_queue"),
            models.Index(fields=["merchant", "-id"], name="logistics_alert_merchant"),
            models.Index(fields=["consumer", "-id"], name="logistics_alert_consumer"),
            models.Index(fields=["shipment_id"], name="logistics_alert_shipment"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(reason__in=["stale", "exception"]), name="logistics_alert_reason_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["open", "resolved"]), name="logistics_alert_status_valid"
            ),
        ]

    def __str__(self):
        return f"{self.get_reason_display()} {self.carrier} {self.tracking_number}"
