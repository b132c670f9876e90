"""A return request's number is ``TH<Shanghai date><id>``, the id zero-padded to five digits
and never cut."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection

from aftersales import clock
from returns import services
from returns.models import ReturnRequest
from returns.tests import factories as rf

pytestmark = pytest.mark.django_db


def _create(line):
    actor = rf.consumer_actor(line.order.consumer)
    return services.return_request_create(
        line=line, kind="return_refund", reason="no_reason", quantity=1, actor=actor
    )


def _set_sequence(value):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('returns_returnrequest', 'id'), %s)", [value]
        )


@pytest.mark.parametrize(
    "last, digits",
    [(41, "00042"), (99_998, "99999"), (99_999, "100000")],
    ids=["padded", "five digits", "six digits: never cut"],
)
def test_the_number_pads_the_id_to_five_digits_and_never_cuts_it(merchant_a, last, digits):
    if connection.vendor != "postgresql":
        pytest.skip("the sequence is PostgreSQL's")
    at = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    with time_machine.travel(at, tick=False):
        line = rf.signed_line(signed_at=clock.now() - timedelta(days=1), merchant=merchant_a)
        _set_sequence(last)
        request = _create(line)
    assert request.pk == last + 1
    assert request.number == f"TH20261202{digits}"
    assert ReturnRequest.objects.get(pk=request.pk).number == request.number


@pytest.mark.parametrize(
    "at, day",
    [
        (datetime(2026, 12, 2, 15, 59, tzinfo=UTC), "20261202"),  # 23:59 in Shanghai
        (datetime(2026, 12, 2, 16, 0, tzinfo=UTC), "20261203"),  # 00:00 the next day
    ],
    ids=["last minute of the Shanghai day", "first minute of the next"],
)
def test_a_request_is_numbered_by_its_shanghai_date(merchant_a, at, day):
    with time_machine.travel(at, tick=False):
        line = rf.signed_line(signed_at=clock.now() - timedelta(days=1), merchant=merchant_a)
        request = _create(line)
    assert request.number == f"TH{day}{request.pk:05d}"
    assert ReturnRequest.objects.get(pk=request.pk).number == request.number


@pytest.mark.backends
@pytest.mark.parametrize(
    "pk, number",
    [(42, "TH2026120200042"), (99_999, "TH2026120299999"), (100_000, "TH20261202100000")],
    ids=["padded", "five digits", "six digits: never cut"],
)
def test_the_database_writes_the_number_on_every_backend(merchant_a, pk, number):
    """The number is a generated column: the insert returns it, on SQLite as on PostgreSQL."""
    from returns.tests.factories_pages import page_request

    line = rf.signed_line(signed_at=clock.now() - timedelta(days=1), merchant=merchant_a)
    request = page_request(line, id=pk, number_day="20261202")
    assert request.number == number  # returned by the insert, not read again
    assert ReturnRequest.objects.get(number=number).pk == pk
