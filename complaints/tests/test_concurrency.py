"""Races settled by row locks, with real threads and separate connections: simultaneous
intakes of one subject make one complaint (the others are repeats), and simultaneous steps of
different complaints give the log gapless leaves that recompute (C6)."""

import pytest

from complaints import services
from complaints.models import Complaint, LogHead, LogLeaf
from complaints.tests.factories import complain, merchant_actor, order_of
from returns.tests.test_services_concurrency import run_parallel

pytestmark = pytest.mark.django_db(transaction=True)


def test_simultaneous_intakes_of_one_subject_make_one_complaint():
    order = order_of()
    results = run_parallel([lambda: complain(order).pk for _ in range(4)])
    assert all(exc is None for _, exc in results), results
    assert len({pk for pk, _ in results}) == 1
    complaint = Complaint.objects.get()
    assert complaint.repeat_count == 3


def test_simultaneous_steps_keep_the_log_gapless():
    complaints = [complain(order_of()) for _ in range(4)]

    def answer(complaint):
        return lambda: services.complaint_respond(
            complaint=complaint, actor=merchant_actor(complaint.merchant), message="并发答复"
        )

    results = run_parallel([answer(c) for c in complaints])
    assert all(exc is None for _, exc in results), results
    indexes = list(LogLeaf.objects.order_by("index").values_list("index", flat=True))
    assert indexes == list(range(len(indexes)))
    assert LogHead.objects.get(pk=1).size == len(indexes)
    assert services.integrity_check() == []


def test_the_periodic_tasks():
    from complaints.tasks import publish_checkpoint, run_integrity_check

    complain(order_of())
    assert publish_checkpoint() == LogHead.objects.get(pk=1).size
    assert run_integrity_check() == 0
