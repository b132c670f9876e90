"""Serializers of the returns API: parse input for one service, shape output.

Personal data is masked here (RULES.md D2): consumer names, pickup contacts. Evidence files are
never linked from public storage: each has a scoped download URL under its request.
"""

import base64
import binascii

from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from aftersales.api.serializers import TimelineEventSerializer, stored_choice
from aftersales.casefile.timeline import timeline_events
from orders.api.serializers import ReferenceIdField, ScopedPrimaryKeyRelatedField
from orders.models import Sku
from orders.selectors import sku_list

from .. import selectors
from ..citations import citation
from ..models import (
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
from ..services import SCAN_KINDS
from ..uploads import EVIDENCE_ACCEPT

# -- references -----------------------------------------------------------------------------------


def _skus(actor):
    return sku_list(actor=actor)


# -- what a line allows now -----------------------------------------------------------------------


class ReturnOptionSerializer(serializers.Serializer):
    """One thing the consumer may (or may not) ask for on a line, and why (R1–R4, R10, R11)."""

    kind = serializers.CharField(
        help_text=gettext_lazy(
            "选项类型：refund_only_unshipped、no_reason_return、spec_exchange、quality_return "
            "或 quality_exchange"
        )
    )
    available = serializers.BooleanField()
    rule = serializers.CharField(help_text=gettext_lazy("RULES.md 规则编号，如 R1、R2、R11"))
    basis = serializers.SerializerMethodField(
        help_text=gettext_lazy("规则依据的法律条文或平台规则，如《消费者权益保护法》第二十五条")
    )
    code = serializers.CharField(
        help_text=gettext_lazy("稳定代码，如 no_reason_open、no_reason_excluded_by_law")
    )
    message = serializers.CharField(
        help_text=gettext_lazy("说明：引用的法律条文或平台规则与决定它的日期")
    )
    decided_by = serializers.DateTimeField(
        allow_null=True, help_text=gettext_lazy("决定该选项的时刻（窗口截止、发货时间、确认时间）")
    )
    decided_by_display = serializers.CharField(
        help_text=gettext_lazy("上海时间，如 2026-11-28 24:00")
    )
    min_quantity = serializers.IntegerField()
    max_quantity = serializers.IntegerField()
    instant = serializers.BooleanField(
        help_text=gettext_lazy("未发货秒退：立即退款，无需商家审核（R11）")
    )
    request_kinds = serializers.ListField(
        child=serializers.CharField(),
        help_text=gettext_lazy("可用此选项提交的申请类型（POST /returns/ 的 kind）"),
    )
    reasons = serializers.ListField(
        child=serializers.CharField(), help_text=gettext_lazy("可选的申请原因")
    )

    def get_basis(self, obj) -> str:
        rule = obj["rule"] if isinstance(obj, dict) else obj.rule
        return citation(rule)


class ShippingPayerSerializer(serializers.Serializer):
    payer = serializers.CharField(help_text=gettext_lazy("承担方：consumer、merchant 或 insurance"))
    rule = serializers.CharField(help_text=gettext_lazy("R8（无理由）或 R9（质量问题）"))
    code = serializers.CharField()
    message = serializers.CharField()
    reimbursed_with_refund = serializers.BooleanField(help_text=gettext_lazy("运费随退款一并退还"))


class LineShippingSerializer(serializers.Serializer):
    no_reason = ShippingPayerSerializer(help_text=gettext_lazy("无理由退货时谁付退货运费"))
    quality = ShippingPayerSerializer(help_text=gettext_lazy("质量问题时谁付退货运费"))


class LineReturnOptionsSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    available = serializers.BooleanField(help_text=gettext_lazy("现在是否有可申请的选项"))
    shipping = LineShippingSerializer(help_text=gettext_lazy("退货运费由谁承担（R8、R9）"))
    insured = serializers.BooleanField(help_text=gettext_lazy("退货与换货包裹是否保价（R17）"))
    options = ReturnOptionSerializer(many=True)


# -- output ---------------------------------------------------------------------------------------


class ReturnEvidenceSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField(
        help_text=gettext_lazy("下载地址（需同样的权限）")
    )

    class Meta:
        model = ReturnEvidence
        fields = [
            "id",
            "party",
            "kind",
            "stage",
            "note",
            "name",
            "download_url",
            "uploaded_by_label",
            "created_at",
        ]
        read_only_fields = fields

    def get_name(self, obj) -> str:
        return obj.display_name

    def get_download_url(self, obj) -> str | None:
        if not obj.file:
            return None
        return reverse("return-evidence-file", kwargs={"pk": obj.request_id, "evidence_pk": obj.pk})


class ReturnRefundPartSerializer(serializers.ModelSerializer):
    tender_kind = serializers.CharField(source="tender.kind", read_only=True)
    tender_amount = serializers.DecimalField(
        source="tender.amount", max_digits=12, decimal_places=2, read_only=True
    )
    gateway_status = serializers.SerializerMethodField()
    gateway_attempts = serializers.SerializerMethodField()

    class Meta:
        model = RefundPart
        fields = [
            "id",
            "tender",
            "tender_kind",
            "tender_amount",
            "amount",
            "status",
            "attempt",
            "failure_reason",
            "gateway_status",
            "gateway_attempts",
        ]
        read_only_fields = fields

    def get_gateway_status(self, obj) -> str | None:
        return obj.gateway_refund.status if obj.gateway_refund_id else None

    def get_gateway_attempts(self, obj) -> int:
        return obj.gateway_refund.attempts if obj.gateway_refund_id else 0


class ReturnRefundSerializer(serializers.ModelSerializer):
    """A request's refund and its progress per original tender (R7)."""

    parts = ReturnRefundPartSerializer(many=True, read_only=True)

    class Meta:
        model = Refund
        fields = ["id", "amount", "status", "source", "retries", "requested_at", "settled_at"]
        fields += ["parts"]
        read_only_fields = fields


class DifferencePaymentSerializer(serializers.ModelSerializer):
    """The consumer's payment of a positive exchange price difference (R18)."""

    class Meta:
        model = ExchangeDifferencePayment
        fields = ["id", "amount", "method", "status", "attempts", "failure_reason"]
        fields += ["requested_at", "paid_at", "refunded_at"]
        read_only_fields = fields


class ShippingReimbursementSerializer(serializers.ModelSerializer):
    """Return shipping paid by the merchant, reimbursed with the refund (R9)."""

    tender_kind = serializers.CharField(source="tender.kind", read_only=True, default="balance")

    class Meta:
        model = ShippingReimbursement
        fields = ["id", "amount", "tender_kind", "status", "attempts", "failure_reason"]
        fields += ["requested_at", "settled_at"]
        read_only_fields = fields


class ShippingInsuranceClaimSerializer(serializers.ModelSerializer):
    """The return shipping claimed from the return-shipping insurance (运费险, R8)."""

    class Meta:
        model = ShippingInsuranceClaim
        fields = ["id", "insurer", "amount", "paid_amount", "status", "external_ref", "reason"]
        fields += ["attempts", "requested_at", "settled_at"]
        read_only_fields = fields


class ExpressLedgerEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = ExpressRefundLedgerEntry
        fields = [
            "id",
            "kind",
            "amount",
            "occurred_at",
            "note",
            "actor_label",
            "settlement_status",
            "attempts",
            "failure_reason",
            "settled_at",
        ]
        read_only_fields = fields


class ReturnInspectionSerializer(serializers.ModelSerializer):
    result = stored_choice(InspectionRequest.Result.choices, label=gettext_lazy("结论"))

    class Meta:
        model = InspectionRequest
        fields = [
            "id",
            "provider",
            "request_id",
            "external_ref",
            "status",
            "result",
            "report",
            "attempts",
            "last_error",
            "requested_at",
            "reported_at",
        ]
        read_only_fields = fields


ARBITRATION_FIELDS = [
    "id",
    "request",
    "merchant",
    "consumer",
    "status",
    "opened_at",
    "opened_by_label",
    "consumer_statement",
    "merchant_statement",
    "merchant_answered_at",
    "answer_due_at",
    "decision",
    "decided_amount",
    "decided_by_label",
    "decided_at",
    "inspecting_at",
    "reason",
]


class ArbitrationInCaseSerializer(serializers.ModelSerializer):
    decision = stored_choice(Arbitration.Decision.choices, label=gettext_lazy("裁决"))
    inspections = ReturnInspectionSerializer(many=True, read_only=True)

    class Meta:
        model = Arbitration
        fields = ARBITRATION_FIELDS + ["inspections"]
        read_only_fields = fields


class ReturnPickupSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    carrier = serializers.CharField()
    slot_start = serializers.DateTimeField()
    slot_end = serializers.DateTimeField()
    status = serializers.CharField()
    tracking_number = serializers.CharField()
    failure_reason = serializers.CharField()
    contact_name = serializers.CharField(
        source="masked_contact_name", help_text=gettext_lazy("脱敏")
    )
    insured = serializers.BooleanField(help_text=gettext_lazy("保价取件（高价值商品，R17）"))
    declared_value = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        allow_null=True,
        help_text=gettext_lazy("保价声明价值（元）"),
    )


class ReturnReplacementShipmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    status = serializers.CharField()
    insured = serializers.BooleanField()
    shipped_at = serializers.DateTimeField()
    signed_at = serializers.DateTimeField(allow_null=True)


class ReturnDeadlineSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="deadline_id")
    kind = serializers.CharField()
    due_at = serializers.DateTimeField()
    due_display = serializers.CharField(help_text=gettext_lazy("上海时间"))
    description = serializers.CharField(help_text=gettext_lazy("到期时将发生什么"))
    state = serializers.CharField()


LIST_FIELDS = [
    "id",
    "number",
    "status",
    "kind",
    "reason",
    "reason_kind",
    "merchant",
    "merchant_name",
    "consumer",
    "consumer_name",
    "order",
    "order_number",
    "line",
    "product_name",
    "quantity",
    "amount",
    "express",
    "refund_status",
    "requested_at",
    "next_deadline_at",
    "next_deadline_kind",
]


class ReturnRequestListSerializer(serializers.ModelSerializer):
    """A row of the queue: the countdown is ``next_deadline_at`` (the soonest pending deadline)."""

    merchant_name = serializers.CharField(source="merchant.name", read_only=True)
    consumer_name = serializers.CharField(
        source="consumer.masked_name", read_only=True, help_text=gettext_lazy("脱敏姓名")
    )
    order_number = serializers.CharField(source="order.number", read_only=True)
    product_name = serializers.CharField(source="line.product_name", read_only=True)
    refund_status = serializers.SerializerMethodField()
    next_deadline_at = serializers.SerializerMethodField(
        help_text=gettext_lazy("最近一个待执行期限的到期时间（倒计时）")
    )
    next_deadline_kind = serializers.SerializerMethodField()

    class Meta:
        model = ReturnRequest
        fields = LIST_FIELDS
        read_only_fields = fields

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_next_deadline_at(self, obj):
        deadline = getattr(obj, "next_deadline", None)
        return serializers.DateTimeField().to_representation(deadline.due_at) if deadline else None

    def get_next_deadline_kind(self, obj) -> str | None:
        deadline = getattr(obj, "next_deadline", None)
        return deadline.kind if deadline else None

    def get_refund_status(self, obj) -> str | None:
        refund = selectors.refund_of(obj)
        return refund.status if refund else None


class ReturnAddressSerializer(serializers.ModelSerializer):
    full_text = serializers.CharField(
        read_only=True, help_text=gettext_lazy("收件人、电话与完整地址")
    )

    class Meta:
        model = ReturnAddress
        fields = [
            "id",
            "merchant",
            "warehouse",
            "contact_name",
            "phone",
            "province",
            "city",
            "district",
            "street",
            "postal_code",
            "is_default",
            "active",
            "full_text",
            "updated_at",
        ]
        read_only_fields = ["id", "active", "full_text", "updated_at"]
        extra_kwargs = {"merchant": {"required": False}}
        validators = []  # one address per warehouse: the service checks it (409)


class ReturnRequestDetailSerializer(ReturnRequestListSerializer):
    """The whole case: pending deadlines, refund progress per tender, timeline, evidence and
    arbitration."""

    spec = serializers.CharField(source="line.spec", read_only=True)
    evidence = ReturnEvidenceSerializer(source="evidence_rows", many=True, read_only=True)
    refund = serializers.SerializerMethodField()
    difference_payment = serializers.SerializerMethodField(
        help_text=gettext_lazy("换货差价支付（R18，仅差价为正的换规格申请）")
    )
    shipping_reimbursement = serializers.SerializerMethodField(
        help_text=gettext_lazy("退货运费报销（R9，仅商家承担运费且申报了运费）")
    )
    insurance_claim = serializers.SerializerMethodField(
        help_text=gettext_lazy(
            "运费险理赔（R8，仅下单时购买了运费险的无理由退货）：保险公司赔付退货运费"
        )
    )
    ledger = serializers.SerializerMethodField(
        help_text=gettext_lazy("极速退款台账（R12）：垫付、追偿、追回")
    )
    return_address = ReturnAddressSerializer(
        read_only=True,
        allow_null=True,
        help_text=gettext_lazy("寄回地址：商家同意时选定的退货仓（未设置为 null）"),
    )
    arbitration = serializers.SerializerMethodField()
    shipping_payer = stored_choice(
        ReturnRequest.ShippingPayer.choices, label=gettext_lazy("退货运费承担方")
    )
    pickup = serializers.SerializerMethodField()
    replacement_shipment = serializers.SerializerMethodField()
    deadlines = serializers.SerializerMethodField(
        help_text=gettext_lazy(
            "待执行的期限：到期时间与届时将发生什么（R6、R13、R14、极速退款追回）"
        )
    )
    timeline = serializers.SerializerMethodField(help_text=gettext_lazy("处理记录，最早的在前"))
    basis = serializers.SerializerMethodField(
        help_text=gettext_lazy("依据规则对应的法律条文或平台规则（三包规则为空）")
    )

    class Meta:
        model = ReturnRequest
        fields = LIST_FIELDS + [
            "origin",
            "option",
            "rule",
            "basis",
            "explanation",
            "description",
            "spec",
            "exchange_sku",
            "price_difference",
            "difference_payment",
            "shipping_payer",
            "shipping_rule",
            "shipping_explanation",
            "insured",
            "return_shipping_fee",
            "shipping_reimbursement",
            "return_address",
            "return_carrier",
            "return_tracking_number",
            "return_first_scan_at",
            "return_signed_at",
            "pickup_slot_start",
            "pickup_slot_end",
            "inspection_intact",
            "inspection_note",
            "status_reason",
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
            "evidence",
            "refund",
            "insurance_claim",
            "ledger",
            "arbitration",
            "pickup",
            "replacement_shipment",
            "deadlines",
            "timeline",
        ]
        read_only_fields = fields

    def get_basis(self, obj) -> str:
        return citation(obj.rule)

    @extend_schema_field(ReturnRefundSerializer(allow_null=True))
    def get_refund(self, obj):
        refund = selectors.refund_of(obj)
        return ReturnRefundSerializer(refund).data if refund else None

    @extend_schema_field(DifferencePaymentSerializer(allow_null=True))
    def get_difference_payment(self, obj):
        if not obj.is_exchange or obj.price_difference <= 0:  # nothing to pay (R18)
            return None
        row = ExchangeDifferencePayment.objects.filter(request_id=obj.pk).first()
        return DifferencePaymentSerializer(row).data if row else None

    @extend_schema_field(ShippingReimbursementSerializer(allow_null=True))
    def get_shipping_reimbursement(self, obj):
        if obj.shipping_payer != "merchant" or obj.return_shipping_fee <= 0:
            return None
        row = (
            ShippingReimbursement.objects.select_related("tender").filter(request_id=obj.pk).first()
        )
        return ShippingReimbursementSerializer(row).data if row else None

    @extend_schema_field(ShippingInsuranceClaimSerializer(allow_null=True))
    def get_insurance_claim(self, obj):
        if obj.shipping_payer != "insurance":  # only lines insured at checkout (R8)
            return None
        row = ShippingInsuranceClaim.objects.filter(request_id=obj.pk).first()
        return ShippingInsuranceClaimSerializer(row).data if row else None

    @extend_schema_field(ExpressLedgerEntrySerializer(many=True))
    def get_ledger(self, obj):
        if not obj.express:  # only express refunds (R12) have a ledger
            return []
        return ExpressLedgerEntrySerializer(obj.ledger_entries.all(), many=True).data

    @extend_schema_field(ArbitrationInCaseSerializer(allow_null=True))
    def get_arbitration(self, obj):
        if obj.escalated_at is None:  # arbitration is opened by escalating (R19)
            return None
        arbitration = selectors.arbitration_of(obj)
        return ArbitrationInCaseSerializer(arbitration).data if arbitration else None

    @extend_schema_field(ReturnPickupSerializer(allow_null=True))
    def get_pickup(self, obj):
        return ReturnPickupSerializer(obj.pickup).data if obj.pickup_id else None

    @extend_schema_field(ReturnReplacementShipmentSerializer(allow_null=True))
    def get_replacement_shipment(self, obj):
        shipment = obj.replacement_shipment
        return ReturnReplacementShipmentSerializer(shipment).data if shipment else None

    @extend_schema_field(ReturnDeadlineSerializer(many=True))
    def get_deadlines(self, obj):
        rows = getattr(obj, "open_deadlines", None)
        if rows is None:
            rows = selectors.return_request_deadlines(obj)
        return ReturnDeadlineSerializer(rows, many=True).data

    @extend_schema_field(TimelineEventSerializer(many=True))
    def get_timeline(self, obj):
        return TimelineEventSerializer(timeline_events(obj), many=True).data


class ArbitrationSerializer(serializers.ModelSerializer):
    """An arbitration case of the platform's queue, with the request it decides."""

    decision = stored_choice(Arbitration.Decision.choices, label=gettext_lazy("裁决"))

    request_number = serializers.CharField(source="request.number", read_only=True)
    request_status = serializers.CharField(source="request.status", read_only=True)
    request_kind = serializers.CharField(source="request.kind", read_only=True)
    request_amount = serializers.DecimalField(
        source="request.amount", max_digits=12, decimal_places=2, read_only=True
    )
    merchant_name = serializers.CharField(source="request.merchant.name", read_only=True)
    consumer_name = serializers.CharField(source="request.consumer.masked_name", read_only=True)
    inspections = ReturnInspectionSerializer(many=True, read_only=True)
    evidence = ReturnEvidenceSerializer(source="request.evidence", many=True, read_only=True)

    class Meta:
        model = Arbitration
        fields = ARBITRATION_FIELDS + [
            "request_number",
            "request_status",
            "request_kind",
            "request_amount",
            "merchant_name",
            "consumer_name",
            "inspections",
            "evidence",
        ]
        read_only_fields = fields


class ArbitrationDetailSerializer(ArbitrationSerializer):
    """Both sides' statements and evidence, the inspections and the request's whole timeline."""

    timeline = serializers.SerializerMethodField()

    class Meta(ArbitrationSerializer.Meta):
        fields = ArbitrationSerializer.Meta.fields + ["timeline"]
        read_only_fields = fields

    @extend_schema_field(TimelineEventSerializer(many=True))
    def get_timeline(self, obj):
        return TimelineEventSerializer(timeline_events(obj.request), many=True).data


# -- input: evidence ------------------------------------------------------------------------------


class ReturnEvidenceItemSerializer(serializers.Serializer):
    """One file in a JSON body (base64). Multipart bodies send files instead (``evidence`` or
    ``file`` parts); the kind is inferred from the extension when omitted."""

    filename = serializers.CharField(
        max_length=200, help_text=_("文件名，其扩展名须与内容相符（如 .jpg、.mp4、.pdf）")
    )
    content_base64 = serializers.CharField(help_text=_("文件内容（base64）"))
    kind = serializers.ChoiceField(choices=ReturnEvidence.Kind.choices, required=False)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    def validate(self, data):
        try:
            content = base64.b64decode(data["content_base64"], validate=True)
        except (binascii.Error, ValueError):
            raise serializers.ValidationError(
                {"content_base64": _("不是合法的 base64 内容。")}
            ) from None
        name = data["filename"].replace("\\", "/").rsplit("/", 1)[-1]
        return {
            "file": ContentFile(content, name=name),
            "kind": data.get("kind"),
            "note": data.get("note", ""),
        }


def evidence_field(stage, help_text=""):
    """The evidence of ``stage``: its help text names what that stage takes
    (``returns.uploads.EVIDENCE_ACCEPT``, checked by the service)."""
    accepted = format_lazy(
        _(
            "接受{}（JSON：base64；multipart：evidence 文件）。"
            "内容按实际类型校验，照片去除元数据后保存。"
        ),
        EVIDENCE_ACCEPT[stage].description,
    )
    return ReturnEvidenceItemSerializer(
        many=True,
        required=False,
        help_text=format_lazy("{} {}", help_text, accepted) if help_text else accepted,
    )


class ReturnEvidenceUploadSerializer(serializers.Serializer):
    """``POST /returns/{id}/evidence/``: multipart ``file`` parts (one or more) with ``kind`` and
    ``note``, or JSON ``{"evidence": [{"filename", "content_base64", "kind", "note"}]}``."""

    evidence = evidence_field("add")
    kind = serializers.ChoiceField(
        choices=ReturnEvidence.Kind.choices,
        required=False,
        help_text=gettext_lazy("multipart 上传时的类型"),
    )
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


# -- input: actions -------------------------------------------------------------------------------


class ReturnCreateSerializer(serializers.Serializer):
    line = ReferenceIdField(
        help_text=_("订单行 id（本人订单的行；他人的行与不存在的行同样答 404）")
    )
    kind = serializers.ChoiceField(choices=ReturnRequest.Kind.choices)
    reason = serializers.ChoiceField(choices=ReturnRequest.Reason.choices)
    quantity = serializers.IntegerField(
        min_value=1,
        required=False,
        help_text=gettext_lazy("件数（R15）；省略时为该行剩余可申请件数"),
    )
    description = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, default=""
    )
    exchange_sku = ScopedPrimaryKeyRelatedField(
        queryset=Sku.objects.all(),
        visible=_skus,
        required=False,
        allow_null=True,
        help_text=gettext_lazy("换规格/型号（spec_exchange）的目标 SKU，须为同一商品（R18）"),
    )
    pickup_slot_start = serializers.DateTimeField(
        required=False, help_text=gettext_lazy("同意后自动预约上门取件的时段开始（R16）")
    )
    pickup_slot_end = serializers.DateTimeField(required=False)
    evidence = evidence_field("request", _("质量问题、破损、与描述不符须附照片或视频。"))


class ReturnNoteSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ReturnApproveSerializer(ReturnNoteSerializer):
    return_address = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text=gettext_lazy("退货地址 id（缺省：商家的默认退货地址）"),
    )


class ReturnRejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text=_("拒绝理由（必填）"))
    evidence = evidence_field("reject")


class ReturnTrackingSerializer(serializers.Serializer):
    carrier = serializers.CharField(max_length=40, help_text=gettext_lazy("承运商代码，如 SF、ZTO"))
    tracking_number = serializers.CharField(max_length=64)


def shipping_fee_field(help_text):
    return serializers.DecimalField(
        max_digits=6,
        decimal_places=2,
        min_value=0,
        required=False,
        allow_null=True,
        help_text=help_text,
    )


class ReturnShipBackSerializer(ReturnTrackingSerializer):
    shipping_fee = shipping_fee_field(
        gettext_lazy(
            "实付退货运费（元）；商家承担运费时（R9，或承诺退货免运费 R8）随退款报销，"
            "上限为策略 returns.shipping_reimbursement_max（默认 30.00）"
        )
    )


class ReturnPayDifferenceSerializer(serializers.Serializer):
    method = serializers.ChoiceField(
        choices=["card", "balance"],
        default="card",
        help_text=gettext_lazy("支付方式：银行卡或余额"),
    )


class ReturnPickupBookSerializer(serializers.Serializer):
    shipping_fee = shipping_fee_field(
        gettext_lazy("上门取件运费（元），商家承担时随退款报销（R9）")
    )
    slot_start = serializers.DateTimeField(help_text=gettext_lazy("上门时段开始（带时区）"))
    slot_end = serializers.DateTimeField()
    contact_name = serializers.CharField(max_length=60, required=False)
    contact_phone = serializers.CharField(max_length=20, required=False)
    province = serializers.CharField(max_length=20, required=False)
    city = serializers.CharField(max_length=20, required=False)
    district = serializers.CharField(max_length=20, required=False)
    street = serializers.CharField(
        max_length=200, required=False, help_text=gettext_lazy("省略联系人时为订单收货地址")
    )


class ReturnReceiveSerializer(serializers.Serializer):
    intact = serializers.BooleanField(help_text=gettext_lazy("验货是否完好（R5）；不完好须附凭证"))
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    evidence = evidence_field("receive")


class ReturnRefundInputSerializer(serializers.Serializer):
    amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        required=False,
        help_text=gettext_lazy(
            "默认为申请金额；不能超过它。一个申请只退款一次，重复调用返回同一笔退款"
        ),
    )


class ReturnStatementSerializer(serializers.Serializer):
    statement = serializers.CharField(max_length=2000, help_text=_("陈述（必填）"))
    evidence = evidence_field("arbitration")


class ReturnOverrideSerializer(serializers.Serializer):
    to_status = serializers.ChoiceField(choices=ReturnRequest.Status.choices)
    reason = serializers.CharField(
        max_length=500, help_text=gettext_lazy("平台干预原因（必填，记入时间线）")
    )


class ReturnParcelEventSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[(k, k) for k in SCAN_KINDS])
    occurred_at = serializers.DateTimeField()
    location = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    description = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default=""
    )
    external_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class ArbitrationDecideSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=Arbitration.Decision.choices)
    amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text=gettext_lazy("部分退款金额（refund_partial 时必填）"),
    )
    reason = serializers.CharField(max_length=2000, help_text=gettext_lazy("裁决理由（必填）"))
