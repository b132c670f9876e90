"""``aftersales.bulk.insert_instance``: a new instance written as ``save(force_insert=True)``
writes it (``insert_numbered``: returns/tests/test_request_number.py)."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection
from django.utils.translation import gettext_lazy

from aftersales.bulk import insert_instance
from aftersales.models import Deadline, DomainEvent, Notification, TimelineEvent

pytestmark = pytest.mark.django_db

DUE = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)


def _row(pk):
    values = Deadline.objects.filter(pk=pk).values().get()
    values.pop("id")
    return values


def _new(subject_id, **kw):
    return Deadline(
        subject_type="x.case", subject_id=subject_id, kind="returns.auto_approve", due_at=DUE, **kw
    )


def test_the_row_is_the_one_save_writes(merchant_a):
    saved = _new(1, merchant_id=merchant_a.pk, data={"a": [1, "二"]}, policy_value=48)
    saved.save(force_insert=True)
    written = insert_instance(
        _new(2, merchant_id=merchant_a.pk, data={"a": [1, "二"]}, policy_value=48)
    )
    assert written.pk and written.pk != saved.pk and not written._state.adding
    expected, got = _row(saved.pk), _row(written.pk)
    assert got.pop("created_at") and expected.pop("created_at")  # default: clock.now()
    assert got.pop("subject_id") == 2 and expected.pop("subject_id") == 1
    assert got == expected


def test_an_id_given_is_the_rows_id():
    obj = _new(3)
    obj.pk = 9_000_001
    assert insert_instance(obj) is obj and obj.pk == 9_000_001
    assert Deadline.objects.get(pk=9_000_001).kind == "returns.auto_approve"


def _comparable(value):
    inner = getattr(value, "obj", value)  # psycopg's Jsonb wraps the JSON value
    return type(value), inner


def assert_prepared_as_save_does(obj):
    from aftersales import bulk

    for field in obj._meta.concrete_fields:
        if field.primary_key:
            continue
        fast = bulk._preparer(field)(obj)
        full = field.get_db_prep_save(field.pre_save(obj, True), connection)
        assert _comparable(fast) == _comparable(full), field.name


@pytest.fixture
def frozen():
    with time_machine.travel(DUE, tick=False):
        yield


@pytest.mark.parametrize(
    "make",
    [
        lambda m: TimelineEvent(
            subject_type="x.case",
            subject_id=5,
            merchant_id=m.pk,
            verb="x.done",
            data={"a": 1},
            actor_kind="system",
            occurred_at=DUE,
        ),
        lambda m: DomainEvent(name="x.done", subject_type="x.case", subject_id=5, payload={}),
        lambda m: _new(6, merchant_id=None, policy_value=48, attempts=2),
        lambda m: Notification(user_id=1, event="x", title="标题", body="正文", subject_id=None),
        # Values of another type than the column's: the field's own conversion runs.
        lambda m: TimelineEvent(
            subject_type=5,
            subject_id="7",
            merchant_id=str(m.pk),
            verb=gettext_lazy("x.done"),
            actor_kind="system",
            occurred_at=DUE,
        ),
        lambda m: _new(8, merchant_id=m.pk, attempts="3"),
    ],
    ids=["timeline", "domain event", "deadline", "notification", "other types", "int as text"],
)
def test_every_column_is_prepared_as_save_prepares_it(merchant_a, frozen, make):
    assert_prepared_as_save_does(make(merchant_a))


def test_a_naive_datetime_goes_through_the_fields_own_preparation(merchant_a, frozen):
    naive = datetime(2026, 12, 3, 16, 0)
    with pytest.warns(RuntimeWarning, match="naive datetime"):
        assert_prepared_as_save_does(
            Deadline(subject_type="x.case", subject_id=9, kind="returns.auto_approve", due_at=naive)
        )
