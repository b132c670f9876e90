"""``aftersales.bulk.insert_instance``: a new instance written as ``save(force_insert=True)``
writes it (``insert_numbered``: returns/tests/test_request_number.py)."""

from datetime import UTC, datetime

import pytest

from aftersales.bulk import insert_instance
from aftersales.models import Deadline

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
