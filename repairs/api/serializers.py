"""Serializers of the repairs API (三包): parse input for one service, shape output.

Consumer personal data is shown masked (RULES.md D2). Dates inside an entitlement answer are
given as ISO 8601 in Shanghai time, like every other instant of the API.
"""

from datetime import date, datetime
from decimal import Decimal

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from aftersales.api.deadlines import DeadlineSerializer
from aftersales.api.serializers import (
    OptionalEmailField,
    TimelineEventSerializer,
    stored_choice,
)
from aftersales.casefile.timeline import timeline_for
from aftersales.deadlines.engine import deadlines_for_many
from aftersales.tenancy.scope import scoped
from orders.api.serializers import ScopedPrimaryKeyRelatedField
from orders.models import OrderLine

from .. import citations
from ..models import (
    PartsWait,
    RepairEvidence,
    RepairOrder,
    RepairProvider,
    SanbaoCatalogChange,
    SanbaoCatalogEntry,
    WarrantyCard,
    WarrantyEscalation,
)
from ..selectors import card_entitlements, provider_list, warranty_card_list
from ..services import REPAIR_REVEAL_FIELDS


def _lines(actor):
    return scoped(
        OrderLine.objects.all(),
        actor,
        merchant_field="order__merchant_id",
        consumer_field="order__consumer_id",
    )


# -- the 三包 catalog -----------------------------------------------------------------------------


class MainPartSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    months = serializers.IntegerField(min_value=1, max_value=600)


class CatalogEntrySerializer(serializers.ModelSerializer):
    """One 三包 catalog entry (standard 6.5.2). ``daily_depreciation_rate`` is a percentage per
    day (``"0.100"`` = 0.10 %); ``null`` means unknown, and G8 then refuses to compute."""

    code = serializers.SlugField(max_length=40)
    main_parts = MainPartSerializer(many=True, required=False)
    daily_depreciation_rate = serializers.DecimalField(
        max_digits=6,
        decimal_places=3,
        min_value=Decimal("0"),
        max_value=Decimal("100"),
        allow_null=True,
        required=False,
    )
    rate_known = serializers.BooleanField(read_only=True)
    note = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        write_only=True,
        help_text=gettext_lazy("变更说明（记入版本记录）。"),
    )

    class Meta:
        model = SanbaoCatalogEntry
        fields = [
            "id",
            "code",
            "name",
            "whole_unit_months",
            "main_parts",
            "special_cases",
            "service_standard",
            "daily_depreciation_rate",
            "rate_known",
            "parts_shortage_limit_days",
            "version",
            "updated_at",
            "note",
        ]
        read_only_fields = ["id", "version", "updated_at"]
        extra_kwargs = {
            "name": {"required": False},
            "whole_unit_months": {"required": False, "min_value": 1},
            "parts_shortage_limit_days": {"required": False, "min_value": 1},
            "special_cases": {"required": False},
            "service_standard": {"required": False},
        }
        validators = []  # ``code`` is the upsert key, settled by the service


class CatalogChangeSerializer(serializers.ModelSerializer):
    changed_by = serializers.CharField(source="actor_label", read_only=True)

    class Meta:
        model = SanbaoCatalogChange
        fields = ["version", "changed_at", "changed_by", "changed_fields", "snapshot", "note"]
        read_only_fields = fields


# -- shared shaping -----------------------------------------------------------------------------

_DATETIME = serializers.DateTimeField()


def plain(value):
    """JSON-ready copy of rule output: instants in the API's zone, dates ISO, Decimal as text."""
    if isinstance(value, datetime):
        return _DATETIME.to_representation(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


@extend_schema_field({"type": "object", "additionalProperties": True})
class PlainJSONField(serializers.Field):
    def to_representation(self, value):
        return plain(value)


# -- warranty cards -----------------------------------------------------------------------------


class WarrantyCardSerializer(serializers.ModelSerializer):
    """A warranty card (one sold unit). End dates are on the detail (``coverage``)."""

    merchant_name = serializers.CharField(source="merchant.name", read_only=True)
    consumer_name = serializers.CharField(source="consumer.masked_name", read_only=True)
    order = serializers.IntegerField(source="order_line.order_id", read_only=True)
    catalog_code = serializers.CharField(source="catalog_entry.code", read_only=True)
    catalog_name = serializers.CharField(source="catalog_entry.name", read_only=True)

    class Meta:
        model = WarrantyCard
        fields = [
            "id",
            "number",
            "status",
            "order",
            "order_line",
            "unit_index",
            "serial_number",
            "merchant",
            "merchant_name",
            "consumer",
            "consumer_name",
            "product",
            "sku",
            "product_name",
            "unit_price",
            "catalog_entry",
            "catalog_code",
            "catalog_name",
            "catalog_version",
            "needs_installation",
            "signed_at",
            "installed_at",
            "starts_at",
            "root",
            "replaces",
            "exchanged_at",
            "returned_at",
            "misuse_reasons",
            "created_at",
        ]
        read_only_fields = fields


class CoverageSerializer(serializers.Serializer):
    """One 三包 period: the whole unit (``part`` null) or a main part (G9, G10)."""

    part = serializers.CharField(allow_null=True)
    months = serializers.IntegerField()
    starts_at = serializers.DateTimeField()
    base_last_day = serializers.DateField(help_text=gettext_lazy("未顺延时的最后一天（上海）"))
    extension_days = serializers.IntegerField(
        help_text=gettext_lazy("维修、等待配件顺延的天数（G9）")
    )
    last_day = serializers.DateField(help_text=gettext_lazy("三包最后一天（上海）"))
    ends_at = serializers.DateTimeField(
        help_text=gettext_lazy("三包截止时刻：最后一天 24:00（上海）")
    )


class WarrantyCardDetailSerializer(WarrantyCardSerializer):
    """A card with what is covered until when: the whole unit and each main part (G9, G10)."""

    coverage = serializers.SerializerMethodField()
    summary = serializers.SerializerMethodField(
        help_text=gettext_lazy("现在报修可获得的补救（一句话）")
    )

    class Meta(WarrantyCardSerializer.Meta):
        fields = WarrantyCardSerializer.Meta.fields + [
            "alternative_refused",
            "pending_remedy",
            "return_request_id",
            "coverage",
            "summary",
        ]
        read_only_fields = fields

    def _answer(self, card):
        if "answer" not in self.context:
            self.context["answer"] = card_entitlements(card=card)
        return self.context["answer"]

    @extend_schema_field(CoverageSerializer(many=True))
    def get_coverage(self, card):
        return CoverageSerializer(self._answer(card).coverage, many=True).data

    def get_summary(self, card) -> str:
        return self._answer(card).summary


CITATION_HELP = gettext_lazy(
    "规则依据的法规条文，按请求语言，如《部分商品修理更换退货责任规定》第十条（消费者看到的依据）"
)


class RemedySerializer(serializers.Serializer):
    """One remedy open to the consumer, the rule granting it, the law behind it
    (``repairs.citations``) and the dates deciding it."""

    kind = serializers.ChoiceField(choices=["return", "exchange", "free_repair", "paid_repair"])
    rule = serializers.CharField(help_text=gettext_lazy("平台规则编号（G1–G12），条文见 citation"))
    citation = serializers.SerializerMethodField(help_text=CITATION_HELP)
    explanation = serializers.CharField()
    dates = PlainJSONField(help_text=gettext_lazy("决定该补救的日期（起算、截止等）"))
    with_depreciation = serializers.BooleanField()
    refund = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    refund_error = serializers.CharField(
        help_text=gettext_lazy("不能计算退款金额的原因代码，如 depreciation_rate_unknown（G8）")
    )
    cost_borne_by = serializers.CharField()
    alternative = serializers.BooleanField(
        help_text=gettext_lazy(
            "同型号同规格无货时的换货：换成同一商品的其他型号或规格（G7）；"
            "选择时须给出 exchange_sku"
        )
    )

    def get_citation(self, remedy) -> str:
        return citations.citation(remedy.rule)


class NotFixedRepairSerializer(serializers.Serializer):
    received_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class EntitlementsSerializer(serializers.Serializer):
    """The entitlement engine's answer for a fault reported now ("why can I only repair?")."""

    card = serializers.IntegerField()
    at = serializers.DateTimeField()
    day = serializers.IntegerField(help_text=gettext_lazy("签收（或安装）后第几天"))
    summary = serializers.CharField()
    kinds = serializers.ListField(child=serializers.CharField())
    remedies = RemedySerializer(many=True)
    coverage = CoverageSerializer(many=True)
    not_fixed_repairs = NotFixedRepairSerializer(
        many=True, help_text=gettext_lazy("视为未修好的维修（G12）：送修与完成时间")
    )

    def to_representation(self, instance):
        card, answer = instance
        return {
            "card": card.pk,
            "at": _DATETIME.to_representation(answer.at),
            "day": answer.day,
            "summary": answer.summary,
            "kinds": list(dict.fromkeys(answer.kinds)),
            "remedies": RemedySerializer(answer.remedies, many=True).data,
            "coverage": CoverageSerializer(answer.coverage, many=True).data,
            "not_fixed_repairs": [
                plain({"received_at": r.received_at, "finished_at": r.finished_at})
                for r in answer.not_fixed_repairs
            ],
        }


# -- repair providers ---------------------------------------------------------------------------


class RepairProviderSerializer(serializers.ModelSerializer):
    """A repairer and its qualifications (standard 6.5.1): licence, categories, regions."""

    categories = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    contact_email = OptionalEmailField(read_only=True)

    class Meta:
        model = RepairProvider
        fields = [
            "id",
            "name",
            "status",
            "licence_number",
            "licence_expires_on",
            "categories",
            "regions",
            "contact_name",
            "contact_phone",
            "contact_email",
            "address",
            "service_hours",
            "applied_at",
            "reviewed_at",
            "review_note",
            "suspended_at",
            "status_reason",
            "updated_at",
        ]
        read_only_fields = fields


class RepairProviderApplySerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    licence_number = serializers.CharField(max_length=64)
    licence_expires_on = serializers.DateField(required=False, allow_null=True)
    categories = serializers.ListField(
        child=serializers.SlugField(max_length=40),
        allow_empty=False,
        help_text=gettext_lazy('三包目录编码，如 ["lcd_tv", "mobile_phone"]'),
    )
    regions = serializers.ListField(
        child=serializers.CharField(max_length=20),
        required=False,
        default=list,
        help_text=gettext_lazy("服务省份；空为全国"),
    )
    contact_name = serializers.CharField(max_length=60, required=False, allow_blank=True)
    contact_phone = serializers.CharField(max_length=30, required=False, allow_blank=True)
    contact_email = OptionalEmailField(required=False)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True)
    service_hours = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text=gettext_lazy("营业时间，如 周一至周日 09:00–18:00"),
    )


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=300,
        required=False,
        allow_blank=True,
        default="",
        help_text=gettext_lazy("原因或审核意见"),
    )


class ReasonRequiredSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, help_text=gettext_lazy("原因（必填）"))


# -- repair orders --------------------------------------------------------------------------------


class PartsWaitSerializer(serializers.ModelSerializer):
    class Meta:
        model = PartsWait
        fields = ["id", "started_at", "ended_at", "parts", "note"]
        read_only_fields = fields


class RepairEvidenceSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField(
        help_text=gettext_lazy("下载地址（需同样的权限）")
    )

    class Meta:
        model = RepairEvidence
        fields = ["id", "kind", "name", "download_url", "caption", "actor_label", "uploaded_at"]
        read_only_fields = fields

    def get_name(self, obj) -> str:
        return obj.display_name

    def get_download_url(self, obj) -> str:
        return reverse(
            "repair-order-evidence-file", kwargs={"pk": obj.repair_id, "evidence_pk": obj.pk}
        )


REPAIR_LIST_FIELDS = [
    "id",
    "number",
    "status",
    "card",
    "card_number",
    "order_line",
    "merchant",
    "merchant_name",
    "consumer",
    "consumer_name",
    "provider",
    "provider_name",
    "product_name",
    "service_mode",
    "fault_reported_at",
    "received_at",
    "finished_at",
    "result",
    "is_paid",
    "entitlement_rule",
    "entitlement_citation",
    "parts_wait_days",
    "parts_wait_since",
    "updated_at",
]


class RepairOrderListSerializer(serializers.ModelSerializer):
    """A repair order row (lists)."""

    card_number = serializers.CharField(source="card.number", read_only=True)
    merchant_name = serializers.CharField(source="merchant.name", read_only=True)
    consumer_name = serializers.CharField(source="consumer.masked_name", read_only=True)
    provider_name = serializers.CharField(
        source="provider.name", read_only=True, default=None, allow_null=True
    )
    product_name = serializers.CharField(source="card.product_name", read_only=True)
    result = stored_choice(RepairOrder.Result.choices, label=gettext_lazy("维修结果"))
    entitlement_citation = serializers.SerializerMethodField(help_text=CITATION_HELP)

    class Meta:
        model = RepairOrder
        fields = REPAIR_LIST_FIELDS
        read_only_fields = fields

    def get_entitlement_citation(self, obj) -> str:
        return citations.citation(obj.entitlement_rule)


class RepairOrderDetailSerializer(RepairOrderListSerializer):
    """A repair order with its timeline, pending deadlines (G5, G6) and parts waits."""

    parts_waits = PartsWaitSerializer(many=True, read_only=True)
    evidence = RepairEvidenceSerializer(many=True, read_only=True)
    total_fee = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    paid_reason = stored_choice(RepairOrder.PaidReason.choices, label=gettext_lazy("付费原因"))
    timeline = serializers.SerializerMethodField()
    deadlines = serializers.SerializerMethodField(
        help_text=gettext_lazy(
            "待执行的期限（G6 修理者 30 日、G5 缺件期限及其提醒）：到期时间与届时将发生什么。"
        )
    )

    class Meta(RepairOrderListSerializer.Meta):
        fields = REPAIR_LIST_FIELDS + [
            "fault_description",
            "assigned_at",
            "diagnosed_at",
            "repairing_at",
            "returned_at",
            "closed_at",
            "cancelled_at",
            "diagnosis",
            "result_note",
            "parts_replaced",
            "labour_fee",
            "parts_fee",
            "total_fee",
            "paid_reason",
            "reopened_from",
            "reopened_at",
            "parts_waits",
            "evidence",
            "timeline",
            "deadlines",
        ]
        read_only_fields = fields

    @extend_schema_field(TimelineEventSerializer(many=True))
    def get_timeline(self, obj):
        return TimelineEventSerializer(
            timeline_for(obj).order_by("occurred_at", "id"), many=True
        ).data

    @extend_schema_field(DeadlineSerializer(many=True))
    def get_deadlines(self, obj):
        rows = deadlines_for_many([obj], include_reminders=True)
        return DeadlineSerializer(rows, many=True, context=self.context).data


class RepairRequestSerializer(serializers.Serializer):
    """Ask for a repair of one unit: by its warranty card, or by the order line (and which unit
    of it). Photos: send the body as multipart with one or more ``photos`` files."""

    card = ScopedPrimaryKeyRelatedField(
        queryset=WarrantyCard.objects.all(),
        visible=lambda actor: warranty_card_list(actor=actor),
        required=False,
        help_text=gettext_lazy("三包凭证 id"),
    )
    order_line = ScopedPrimaryKeyRelatedField(
        queryset=OrderLine.objects.all(),
        visible=lambda actor: _lines(actor),
        required=False,
        help_text=gettext_lazy("订单行 id（不知道凭证时）"),
    )
    unit_index = serializers.IntegerField(required=False, min_value=1, default=1)
    fault_description = serializers.CharField(max_length=2000)
    service_mode = serializers.ChoiceField(
        choices=RepairOrder.ServiceMode.choices, default=RepairOrder.ServiceMode.SEND_IN
    )
    fault_reported_at = serializers.DateTimeField(required=False)

    def validate(self, data):
        if ("card" in data) == ("order_line" in data):
            raise serializers.ValidationError(
                {"card": _("请指定三包凭证 card 或订单行 order_line 之一。")}
            )
        return data


class RepairAssignSerializer(serializers.Serializer):
    provider = ScopedPrimaryKeyRelatedField(
        queryset=RepairProvider.objects.all(),
        visible=lambda actor: provider_list(actor=actor),
        help_text=gettext_lazy("已准入的维修服务商 id"),
    )
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    occurred_at = serializers.DateTimeField(
        required=False, help_text=gettext_lazy("派单时间（默认为现在）")
    )


class OccurredSerializer(serializers.Serializer):
    occurred_at = serializers.DateTimeField(
        required=False,
        help_text=gettext_lazy("实际发生时间（默认为现在）；送修时间以此为准（G5、G6）"),
    )
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class RepairDiagnoseSerializer(OccurredSerializer):
    diagnosis = serializers.CharField(max_length=2000)
    paid_reason = serializers.ChoiceField(
        choices=[(k, v) for k, v in RepairOrder.PaidReason.choices if k != "out_of_period"],
        required=False,
        allow_blank=True,
        default="",
        help_text=gettext_lazy("发现不实行三包的情形时填写（G11），维修改为付费"),
    )


class PartsWaitStartSerializer(OccurredSerializer):
    parts = serializers.CharField(max_length=200, help_text=gettext_lazy("所缺的厂家配件"))


class PartReplacedSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    quantity = serializers.IntegerField(min_value=1, default=1)


class RepairFinishSerializer(OccurredSerializer):
    """The result. ``note`` is the repair note shown to the consumer. Omit ``is_paid`` and
    ``paid_reason`` to keep the terms decided at the request (free under G3/G12, paid under
    G11/G9)."""

    result = serializers.ChoiceField(choices=RepairOrder.Result.choices)
    parts_replaced = PartReplacedSerializer(many=True, required=False, default=list)
    labour_fee = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
        default=Decimal("0"),
    )
    parts_fee = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
        default=Decimal("0"),
    )
    is_paid = serializers.BooleanField(required=False, help_text=gettext_lazy("付费维修（G11）"))
    paid_reason = serializers.ChoiceField(
        choices=RepairOrder.PaidReason.choices,
        required=False,
        allow_blank=True,
        help_text=gettext_lazy(
            "付费维修的原因：misuse / disassembly / voucher / force_majeure（G11）"
        ),
    )


class FaultReoccurredSerializer(OccurredSerializer):
    fault_description = serializers.CharField(max_length=2000)


# -- escalations --------------------------------------------------------------------------------


class WarrantyEscalationSerializer(serializers.ModelSerializer):
    """A case in the platform's 三包 escalation queue (G4, G5, G6)."""

    card_number = serializers.CharField(source="card.number", read_only=True)
    repair_number = serializers.CharField(source="repair.number", read_only=True, default=None)
    merchant_name = serializers.CharField(source="merchant.name", read_only=True)
    consumer_name = serializers.CharField(source="consumer.masked_name", read_only=True)

    resolution = stored_choice(
        WarrantyEscalation.Resolution.choices, label=gettext_lazy("处理结果")
    )
    citation = serializers.SerializerMethodField(help_text=CITATION_HELP)

    class Meta:
        model = WarrantyEscalation
        fields = [
            "id",
            "rule",
            "citation",
            "status",
            "card",
            "card_number",
            "repair",
            "repair_number",
            "merchant",
            "merchant_name",
            "consumer",
            "consumer_name",
            "granted_remedies",
            "cost_borne_by",
            "explanation",
            "data",
            "raised_at",
            "chosen_remedy",
            "return_request_id",
            "resolution",
            "resolution_note",
            "resolved_label",
            "resolved_at",
        ]
        read_only_fields = fields

    def get_citation(self, obj) -> str:
        return citations.citation(obj.rule)


class EscalationResolveSerializer(serializers.Serializer):
    resolution = serializers.ChoiceField(choices=WarrantyEscalation.Resolution.choices)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class RemedyChooseSerializer(serializers.Serializer):
    remedy = serializers.ChoiceField(
        choices=[
            ("exchange", gettext_lazy("换货")),
            ("return", gettext_lazy("退货退款")),
            ("refund", gettext_lazy("退货退款（同 return）")),
        ],
        help_text=gettext_lazy(
            "exchange：换货；return（或 refund）：退货退款（G8 折旧，或 G7/G1 全额）。"
            "须为 entitlements 当前给出的补救"
        ),
    )
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    exchange_sku = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        help_text=gettext_lazy(
            "换货补救为 alternative（G7：同型号同规格无货）时：换成的同一商品其他规格的 "
            "SKU id（须有货；差价多退少补）"
        ),
    )

    def validate_remedy(self, value):
        return "return" if value == "refund" else value


class AlternativeRefusedSerializer(serializers.Serializer):
    refused = serializers.BooleanField(
        default=True,
        help_text=gettext_lazy("无同型号同规格时不接受其他型号（G7：全额退货，不计折旧）"),
    )


class InstallationSerializer(serializers.Serializer):
    installed_at = serializers.DateTimeField(
        required=False,
        help_text=gettext_lazy("安装完成时间（默认为现在）；需安装商品的三包期自此起算（G9）"),
    )


class WarrantyCardCreateSerializer(serializers.Serializer):
    order_line = ScopedPrimaryKeyRelatedField(
        queryset=OrderLine.objects.all(), visible=lambda actor: _lines(actor)
    )
    signed_at = serializers.DateTimeField(
        required=False, help_text=gettext_lazy("签收时间（默认为该行已签收包裹的签收时间）")
    )
    serial_numbers = serializers.ListField(
        child=serializers.CharField(max_length=80, allow_blank=True),
        required=False,
        default=list,
        help_text=gettext_lazy("每件一个序列号（可选）"),
    )


# -- the consumer's contact for an on-site visit (RULES.md D2, D3) --------------------------------


class ContactRevealSerializer(serializers.Serializer):
    fields = serializers.ListField(
        child=serializers.ChoiceField(choices=list(REPAIR_REVEAL_FIELDS)),
        allow_empty=False,
        required=False,
        default=list(REPAIR_REVEAL_FIELDS),
        help_text=gettext_lazy("要查看的字段（默认电话与地址）。"),
    )
    reason = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text=gettext_lazy("查看原因（必填，将被记录）。"),
    )


class RevealedContactValuesSerializer(serializers.Serializer):
    phone = serializers.CharField(required=False)
    address = serializers.CharField(required=False)


class RevealedContactSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    values = RevealedContactValuesSerializer()
