"""``aftersales.api.serializers.LeanInputMixin``: fields built once per class validate exactly as
DRF's own per-instance copies do, and no instance shares bound state with another."""

import pytest
from rest_framework import serializers

from aftersales.api.serializers import LeanInputMixin


class Item(serializers.Serializer):
    name = serializers.CharField(max_length=5)


FIELDS = {
    "kind": lambda: serializers.ChoiceField(choices=[("a", "A"), ("b", "B")]),
    "quantity": lambda: serializers.IntegerField(min_value=1, max_value=9, required=False),
    "note": lambda: serializers.CharField(max_length=4, required=False, allow_blank=True),
    "at": lambda: serializers.DateTimeField(required=False),
    "tags": lambda: serializers.ListField(child=serializers.CharField(max_length=3), default=[]),
    "items": lambda: Item(many=True, required=False),
    "extra": lambda: serializers.DictField(required=False, default=dict),
    "meta": lambda: serializers.JSONField(required=False, default=[]),  # a plain mutable default
}


def _classes():
    plain = type("Plain", (serializers.Serializer,), {k: f() for k, f in FIELDS.items()})
    lean = type(
        "Lean", (LeanInputMixin, serializers.Serializer), {k: f() for k, f in FIELDS.items()}
    )
    return plain, lean


PLAIN, LEAN = _classes()

BODIES = [
    {"kind": "a", "quantity": 3, "note": "ok", "tags": ["x"], "items": [{"name": "n"}]},
    {"kind": "c"},
    {"kind": "b", "quantity": 0, "note": "too long"},
    {"kind": "a", "quantity": "x", "at": "not a date", "tags": ["long!"]},
    {"kind": "a", "items": [{"name": "far too long"}], "extra": {"k": 1}},
    {"quantity": 12},
    {"kind": "b", "at": "2026-12-02T08:00:00+08:00"},
]


def _outcome(cls, body):
    s = cls(data=body)
    return (s.is_valid(), dict(s.validated_data) if s.is_valid() else s.errors)


@pytest.mark.parametrize("body", BODIES)
def test_validates_exactly_as_drf(body):
    assert _outcome(LEAN, body) == _outcome(PLAIN, body)


def test_each_instance_has_its_own_bound_fields():
    one, two = LEAN(data=BODIES[0]), LEAN(data=BODIES[1])
    for name in FIELDS:
        assert one.fields[name] is not two.fields[name]
        assert one.fields[name].parent is one and two.fields[name].parent is two
        assert one.fields[name].field_name == name
    # Fields with inner fields, and mutable defaults, are copied whole for each instance.
    assert one.fields["tags"].child is not two.fields["tags"].child
    assert one.fields["tags"].child.parent is one.fields["tags"]
    assert one.fields["items"].child is not two.fields["items"].child
    assert one.fields["tags"].default is not two.fields["tags"].default
    # Plain fields share what DRF never changes after __init__.
    assert one.fields["kind"].choices is two.fields["kind"].choices
    assert one.is_valid() and not two.is_valid()
    assert one.validated_data["kind"] == "a" and "kind" in two.errors


def test_the_prototypes_stay_unbound():
    LEAN(data={}).fields  # noqa: B018 - builds the prototypes
    for field, _shareable in LEAN._lean_prototypes.values():
        assert field.parent is None and field.field_name is None


def test_a_default_list_is_never_shared_between_requests():
    first = LEAN(data={"kind": "a"})
    assert first.is_valid()
    first.validated_data["tags"].append("leak")
    first.validated_data["meta"].append("leak")
    second = LEAN(data={"kind": "a"})
    assert second.is_valid()
    assert second.validated_data["tags"] == [] and second.validated_data["meta"] == []


def test_validators_and_messages_added_to_one_instance_stay_with_it():
    from django.core.validators import MaxLengthValidator

    first = LEAN(data={"kind": "a", "note": "abc"})
    first.fields["note"].validators.append(MaxLengthValidator(1))
    first.fields["kind"].error_messages["invalid_choice"] = "changed"
    assert not first.is_valid() and "note" in first.errors
    second = LEAN(data={"kind": "zz", "note": "abc"})
    assert not second.is_valid()
    assert "note" not in second.errors
    assert second.errors["kind"] != ["changed"]
