from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from aftersales.casefile.models import TimelineEvent
from aftersales.policies.models import PolicyVersion
from aftersales.tenancy.models import ApiKey, ConsumerProfile, Merchant


class OptionalEmailField(serializers.EmailField):
    """An e-mail address, or ``""`` when none was given (a model ``EmailField`` with
    ``blank=True``). ``allow_blank`` also when read-only, where a ``ModelSerializer`` drops it:
    the schema then says both, not ``format: email`` alone (issue 19)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("max_length", 254)
        super().__init__(**kwargs)


def stored_choice(choices, **kwargs):
    """A read-only choice of a model field with ``blank=True``: ``""`` until it is set (no result
    yet, no decision yet), and the schema says so (issue 19)."""
    return serializers.ChoiceField(choices=choices, allow_blank=True, read_only=True, **kwargs)


class ZonedDateTimeField(serializers.DateTimeField):
    """A date-time input that must say its zone (``2026-03-01T10:00:00+08:00`` or ``…Z``): a
    bare ``2026-03-01T10:00:00`` could mean Shanghai or UTC, eight hours apart."""

    default_error_messages = {
        "zone_required": gettext_lazy("日期时间必须带时区，如 2026-03-01T10:00:00+08:00。"),
    }

    def to_internal_value(self, value):
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:
                parsed = None
            if parsed is not None and parsed.tzinfo is None:
                self.fail("zone_required")
        return super().to_internal_value(value)


class MerchantSerializer(serializers.ModelSerializer):
    contact_email = OptionalEmailField(required=False)

    class Meta:
        model = Merchant
        fields = ["id", "code", "name", "contact_email", "is_active", "created_at"]
        read_only_fields = ["id", "created_at"]


class AddressInputSerializer(serializers.Serializer):
    recipient = serializers.CharField(max_length=60)
    phone = serializers.CharField(max_length=30)
    province = serializers.CharField(max_length=20)
    city = serializers.CharField(max_length=20)
    district = serializers.CharField(max_length=20, required=False, allow_blank=True)
    street = serializers.CharField(max_length=200)
    unit = serializers.CharField(max_length=60, required=False, allow_blank=True)


class ConsumerSerializer(serializers.ModelSerializer):
    """Consumers as the API shows them: name and phone masked (RULES.md D2)."""

    username = serializers.CharField(source="user.username", read_only=True)
    name = serializers.CharField(source="masked_name", read_only=True)
    phone = serializers.CharField(source="masked_phone", read_only=True)

    class Meta:
        model = ConsumerProfile
        fields = ["id", "username", "external_id", "name", "phone", "credit_score", "created_at"]
        read_only_fields = fields


class ConsumerLookupSerializer(serializers.Serializer):
    """``POST /consumers/lookup/``: the phone in the body, never in a URL (issue 19)."""

    phone = serializers.CharField(max_length=30)


class ConsumerLookupResultSerializer(serializers.Serializer):
    results = ConsumerSerializer(many=True)


class ConsumerCreateSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    external_id = serializers.CharField(max_length=64, required=False, allow_blank=True)
    name = serializers.CharField(max_length=60, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=30, required=False, allow_blank=True)
    credit_score = serializers.IntegerField(min_value=0, max_value=1000, default=600)
    addresses = AddressInputSerializer(many=True, required=False)


class ConsumerUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=60, required=False)
    phone = serializers.CharField(max_length=30, required=False)
    credit_score = serializers.IntegerField(min_value=0, max_value=1000, required=False)


class ApiKeySerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "prefix",
            "scope",
            "merchant",
            "created_at",
            "last_used_at",
            "revoked_at",
        ]
        read_only_fields = fields


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    scope = serializers.ChoiceField(choices=ApiKey.Scope.choices)
    merchant = serializers.PrimaryKeyRelatedField(
        queryset=Merchant.objects.all(), required=False, allow_null=True
    )


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text=gettext_lazy("完整密钥，仅显示一次。"))

    class Meta(ApiKeySerializer.Meta):
        fields = ApiKeySerializer.Meta.fields + ["key"]
        read_only_fields = fields


class TimelineEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = TimelineEvent
        fields = [
            "id",
            "verb",
            "from_status",
            "to_status",
            "reason",
            "data",
            "actor_kind",
            "actor_label",
            "occurred_at",
        ]
        read_only_fields = fields


class PolicyVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = PolicyVersion
        fields = ["id", "key", "scope", "scope_id", "value", "version", "note", "created_at"]
        read_only_fields = ["id", "version", "created_at"]


class MeSerializer(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField()
    merchant_id = serializers.IntegerField(allow_null=True)
    consumer_id = serializers.IntegerField(allow_null=True)
    groups = serializers.ListField(child=serializers.CharField())


class PiiRevealSerializer(serializers.Serializer):
    fields = serializers.ListField(
        child=serializers.ChoiceField(choices=["name", "phone", "addresses"]),
        allow_empty=False,
        help_text=gettext_lazy("要查看的字段。"),
    )
    reason = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text=gettext_lazy("查看原因（平台人员必填）。"),
    )


class RevealedAddressSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    recipient = serializers.CharField()
    phone = serializers.CharField()
    province = serializers.CharField()
    city = serializers.CharField()
    district = serializers.CharField()
    street = serializers.CharField()
    unit = serializers.CharField()
    is_default = serializers.BooleanField()


class RevealedValuesSerializer(serializers.Serializer):
    name = serializers.CharField(required=False)
    phone = serializers.CharField(required=False)
    addresses = RevealedAddressSerializer(many=True, required=False)


class PiiRevealedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    values = RevealedValuesSerializer()
