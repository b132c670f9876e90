"""Serializers of the complaints API."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from aftersales.api.serializers import stored_choice
from aftersales.deadlines.models import Deadline

from ..models import Complaint


class ComplaintSerializer(serializers.ModelSerializer):
    """A complaint as its consumer, its merchant and the platform see it."""

    number = serializers.CharField(read_only=True)
    merchant_name = serializers.CharField(source="merchant.name", read_only=True)
    outcome = stored_choice(Complaint.Outcome.choices, label=_("处理结果"))

    class Meta:
        model = Complaint
        fields = [
            "id",
            "number",
            "subject_kind",
            "order",
            "return_request",
            "repair",
            "merchant",
            "merchant_name",
            "consumer",
            "channel",
            "issue",
            "description",
            "amount",
            "safety_risk",
            "media_or_regulator",
            "harm_known_on",
            "is_repeat",
            "repeat_count",
            "grade",
            "grading_basis",
            "status",
            "status_changed_at",
            "first_responded_at",
            "first_response_breached_at",
            "escalated_at",
            "outcome",
            "conclusion",
            "decline_reason",
            "received_at",
            "resolved_at",
            "closed_at",
        ]
        read_only_fields = fields


class ComplaintClockSerializer(serializers.ModelSerializer):
    """A running or paused clock of the complaint (a pending deadline)."""

    description = serializers.CharField(read_only=True)

    class Meta:
        model = Deadline
        fields = ["kind", "due_at", "state", "remaining", "description"]
        read_only_fields = fields


class ComplaintDetailSerializer(ComplaintSerializer):
    clocks = serializers.SerializerMethodField()

    class Meta(ComplaintSerializer.Meta):
        fields = [*ComplaintSerializer.Meta.fields, "clocks"]
        read_only_fields = fields

    def get_clocks(self, obj) -> list[dict]:
        from ..selectors import complaint_clocks

        return ComplaintClockSerializer(complaint_clocks(obj), many=True).data


class ComplaintCreateSerializer(serializers.Serializer):
    subject_kind = serializers.ChoiceField(choices=Complaint.Subject.choices)
    order = serializers.IntegerField(required=False, allow_null=True)
    return_request = serializers.IntegerField(required=False, allow_null=True)
    repair = serializers.IntegerField(required=False, allow_null=True)
    merchant = serializers.IntegerField(required=False, allow_null=True)
    consumer = serializers.IntegerField(
        required=False, allow_null=True, help_text=_("平台代消费者录入时必填")
    )
    issue = serializers.ChoiceField(choices=Complaint.Issue.choices)
    description = serializers.CharField(max_length=5000)
    amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False, default=0
    )
    safety_risk = serializers.BooleanField(required=False, default=False)
    media_or_regulator = serializers.BooleanField(required=False, default=False)
    harm_known_on = serializers.DateField(required=False, allow_null=True)
    channel = serializers.ChoiceField(
        choices=Complaint.Channel.choices, required=False, allow_blank=True
    )
    attachment_sha256 = serializers.RegexField(r"^[0-9a-f]{64}$", required=False, allow_blank=True)


class ComplaintMessageSerializer(serializers.Serializer):
    message = serializers.CharField(max_length=5000)
    attachment_sha256 = serializers.RegexField(r"^[0-9a-f]{64}$", required=False, allow_blank=True)


class ComplaintReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class ComplaintCloseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class ComplaintConclusionSerializer(serializers.Serializer):
    conclusion = serializers.CharField(max_length=5000)


class ComplaintRegradeSerializer(serializers.Serializer):
    grade = serializers.ChoiceField(choices=Complaint.Grade.choices)
    reason = serializers.CharField(max_length=2000)


class ComplaintRecordEntrySerializer(serializers.Serializer):
    """One entry of a complaint's hash chain, as hashed (C6)."""

    complaint = serializers.IntegerField()
    seq = serializers.IntegerField()
    actor_kind = serializers.CharField()
    actor_label = serializers.CharField()
    verb = serializers.CharField()
    data = serializers.DictField()
    attachment_sha256 = serializers.CharField(allow_blank=True)
    occurred_at = serializers.CharField()
    prev_hash = serializers.CharField()
    hash = serializers.CharField()


class LogCheckpointSerializer(serializers.Serializer):
    tree_size = serializers.IntegerField()
    root_hash = serializers.CharField()
    timestamp = serializers.CharField()
    key_id = serializers.CharField()
    signature = serializers.CharField()


class ComplaintReceiptSerializer(serializers.Serializer):
    """A complaint's receipt: its entries, the inclusion proof of its chain head in the log,
    a signed checkpoint and the platform's public key (RULES.md C6)."""

    format = serializers.CharField()
    complaint = serializers.IntegerField()
    number = serializers.CharField()
    entries = ComplaintRecordEntrySerializer(many=True)
    leaf_index = serializers.IntegerField()
    inclusion_proof = serializers.ListField(child=serializers.CharField())
    checkpoint = LogCheckpointSerializer()
    public_key = serializers.CharField()


class PublishedCheckpointSerializer(serializers.Serializer):
    checkpoint = LogCheckpointSerializer(allow_null=True)
    public_key = serializers.CharField()
    key_id = serializers.CharField()


class ReceiptVerifyResultSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    errors = serializers.ListField(child=serializers.DictField())


class ConsistencyProofSerializer(serializers.Serializer):
    first = serializers.IntegerField()
    second = serializers.IntegerField()
    proof = serializers.ListField(child=serializers.CharField())
