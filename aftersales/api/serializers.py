import copy

from rest_framework import relations, serializers
from rest_framework.fields import SkipField

from ..models import ApiKey, ConsumerProfile, Merchant, PolicyVersion, TimelineEvent


# Input serializers whose plain fields are built once per class.
#
# DRF deep-copies a serializer's declared fields for every instance, and a field's deep copy
# calls its ``__init__`` again with deep copies of its arguments: a body's ChoiceFields rebuild
# their choice tables, every field its validators and messages, on each request. This mixin
# deep-copies the declared fields once per class and gives each instance shallow copies of the
# plain (leaf) ones — their own ``field_name``, ``parent``, binding, validators list and
# messages, sharing only what DRF never changes after ``__init__`` (the choice tables). A
# field with inner fields (a nested serializer, a ``ListField``/``DictField`` child, a
# ``many=True`` relation) or a mutable default or initial value is still deep-copied for
# each instance, as DRF does.
# (``aftersales/tests/test_lean_input.py``.)
class LeanInputMixin:
    def get_fields(self):
        cls = type(self)
        prototypes = cls.__dict__.get("_lean_prototypes")
        if prototypes is None:
            prototypes = {
                name: (field, _shareable(field))
                for name, field in copy.deepcopy(self._declared_fields).items()
            }
            cls._lean_prototypes = prototypes
        return {
            name: _copy(field) if shareable else copy.deepcopy(field)
            for name, (field, shareable) in prototypes.items()
        }


def _copy(field):
    """A shallow copy with its own validators list and messages dict (code may add to them)."""
    new = copy.copy(field)
    if "_validators" in field.__dict__:
        new._validators = list(field._validators)
    new.error_messages = dict(field.error_messages)
    return new


def _shareable(field):
    if isinstance(field, (serializers.BaseSerializer, relations.ManyRelatedField)):
        return False
    if hasattr(field, "child") or hasattr(field, "child_relation"):
        return False
    mutable = (list, dict, set)
    return not any(
        isinstance(getattr(field, name, None), mutable) for name in ("default", "initial")
    )


# Output serializers built once per class instead of once per instance.
#
# DRF builds a ``ModelSerializer``'s fields for every instance it serializes (model
# introspection, ~60 field objects for a return request's detail) and walks them through
# generic code: on a hot endpoint that is most of the response's CPU. This mixin keeps the
# readable fields of the class's first instance and reuses them for every later one; method
# fields (``SerializerMethodField``) are called on the serializer at hand, so their
# ``self.context`` is the current one. The output is exactly DRF's
# (``returns/tests/test_compiled_output.py`` compares both through the returns API).
#
# Only for fields that do not read the context themselves: a field class that builds URLs
# from the request (hyperlinked relations, file URLs) is refused when the class is compiled.
#
# (A comment, not a docstring: drf-spectacular would take an inherited docstring as the
# description of every serializer without its own.)
class CompiledOutputMixin:
    _CONTEXT_FIELDS = (
        relations.HyperlinkedRelatedField,
        serializers.FileField,
    )

    def to_representation(self, instance):
        plan = type(self).__dict__.get("_compiled_plan")
        if plan is None:
            plan = self._compile_plan()
        out = {}
        for name, field, method in plan:
            if method is not None:
                out[name] = getattr(self, method)(instance)
                continue
            try:
                attribute = field.get_attribute(instance)
            except SkipField:
                continue
            value = attribute.pk if isinstance(attribute, relations.PKOnlyObject) else attribute
            out[name] = None if value is None else field.to_representation(attribute)
        return out

    def _compile_plan(self):
        plan = []
        for field in self._readable_fields:
            if isinstance(field, self._CONTEXT_FIELDS):
                raise TypeError(
                    f"{type(self).__name__}.{field.field_name}: {type(field).__name__} reads "
                    "the request context; it cannot be compiled"
                )
            method = (
                field.method_name if isinstance(field, serializers.SerializerMethodField) else None
            )
            plan.append((field.field_name, field, method))
        plan = tuple(plan)
        type(self)._compiled_plan = plan
        return plan


class MerchantSerializer(serializers.ModelSerializer):
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
    key = serializers.CharField(read_only=True, help_text="完整密钥，仅显示一次。Shown once.")

    class Meta(ApiKeySerializer.Meta):
        fields = ApiKeySerializer.Meta.fields + ["key"]
        read_only_fields = fields


class TimelineEventSerializer(CompiledOutputMixin, serializers.ModelSerializer):
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
        help_text="要查看的字段。Fields to reveal.",
    )
    reason = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="查看原因（平台人员必填）。Why (required for staff).",
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
