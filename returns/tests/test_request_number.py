"""A return request's number ``TH<Shanghai date><id>`` is written with the row, by one
``INSERT`` that draws the id (``aftersales.bulk.insert_numbered``)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aftersales import clock
from aftersales.bulk import insert_numbered
from returns import services
from returns.models import ReturnRequest
from returns.tests import factories as rf

pytestmark = pytest.mark.django_db


def _request(line, **kw):
    return ReturnRequest(
        order=line.order,
        line=line,
        merchant_id=line.order.merchant_id,
        consumer_id=line.order.consumer_id,
        kind="return_refund",
        reason="no_reason",
        reason_kind="no_reason",
        quantity=1,
        amount=line.paid_amount,
        **kw,
    )


def _set_sequence(value):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('returns_returnrequest', 'id'), %s)", [value]
        )


def test_a_numbered_row_carries_its_own_id_and_is_the_row_save_writes(merchant_a):
    line = rf.signed_line(merchant=merchant_a)
    saved = _request(line, number="TH-saved")
    saved.save(force_insert=True)
    obj = insert_numbered(_request(line), field="number", prefix="TH20261202", width=5)
    assert obj.pk and obj.pk != saved.pk and not obj._state.adding
    assert obj.number == f"TH20261202{obj.pk:05d}"
    row = ReturnRequest.objects.filter(pk=obj.pk).values().get()
    assert row["number"] == obj.number
    expected = ReturnRequest.objects.filter(pk=saved.pk).values().get()
    for key in ("id", "number", "requested_at", "created_at", "updated_at"):
        row.pop(key, None), expected.pop(key, None)
    assert row == expected


@pytest.mark.parametrize(
    "last, number",
    [(41, "TH2026120200042"), (99_998, "TH2026120299999"), (99_999, "TH20261202100000")],
    ids=["padded", "five digits", "six digits: never cut"],
)
def test_the_number_pads_the_id_to_the_width_and_never_cuts_it(merchant_a, last, number):
    if connection.vendor != "postgresql":
        pytest.skip("the sequence is PostgreSQL's")
    _set_sequence(last)
    line = rf.signed_line(merchant=merchant_a)
    obj = insert_numbered(_request(line), field="number", prefix="TH20261202", width=5)
    assert obj.pk == last + 1
    assert obj.number == number
    assert ReturnRequest.objects.get(pk=obj.pk).number == number


def test_a_request_is_numbered_by_its_shanghai_date_in_its_insert(merchant_a):
    # 2026-12-02 16:30 UTC is 2026-12-03 00:30 in Shanghai: the number takes the local date.
    at = datetime(2026, 12, 2, 16, 30, tzinfo=UTC)
    with time_machine.travel(at, tick=False):
        line = rf.signed_line(signed_at=clock.now() - timedelta(days=1), merchant=merchant_a)
        actor = rf.consumer_actor(line.order.consumer)
        with CaptureQueriesContext(connection) as ctx:
            request = services.return_request_create(
                line=line, kind="return_refund", reason="no_reason", quantity=1, actor=actor
            )
    assert request.number == f"TH20261203{request.pk:05d}"
    assert ReturnRequest.objects.get(pk=request.pk).number == request.number
    inserts = [q["sql"] for q in ctx.captured_queries if "returns_returnrequest" in q["sql"]]
    if connection.vendor == "postgresql":
        assert not [q for q in inserts if q.startswith("SELECT nextval")]
        assert len([q for q in inserts if q.startswith("INSERT")]) == 1


def test_every_column_of_a_request_is_prepared_as_save_prepares_it(merchant_a):
    from aftersales.tests.test_bulk_insert import assert_prepared_as_save_does

    line = rf.signed_line(merchant=merchant_a)
    with time_machine.travel(datetime(2026, 12, 2, 8, 0, tzinfo=UTC), tick=False):
        request = _request(line, number="TH-x", description="描述", requested_at=clock.now())
        request.pickup_slot_start = clock.now()
        assert_prepared_as_save_does(request)
