"""Serializers of the repairs API (三包): parse input for one service, shape output.

Consumer personal data is shown masked (RULES.md D2). Dates inside an entitlement answer are
given as ISO 8601 in Shanghai time, like every other instant of the API.
"""

from datetime import date, datetime
from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import SanbaoCatalogChange, SanbaoCatalogEntry

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
        help_text="变更说明（记入版本记录）。Why it changed (kept with the version).",
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
