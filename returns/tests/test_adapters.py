"""The sandbox parties of returns: the inspector's outcomes and the return parcel's journey."""

from datetime import timedelta

import pytest

from aftersales import clock
from returns import services, tasks
from returns.adapters import get_inspection_provider
from returns.adapters.inspection import SandboxInspectionProvider, sandbox_outcome
from returns.models import Refund
from returns.tests import factories as rf

pytestmark = pytest.mark.django_db


def test_inspection_provider_by_setting():
    assert isinstance(get_inspection_provider(), SandboxInspectionProvider)


@pytest.mark.parametrize(
    "note, attempt, mode, outcome",
    [
        ("外壳破损", 1, "", "not_intact"),
        ("ok", 1, "", "intact"),
        ("ok", 1, "once", "retry"),
        ("ok", 2, "once", "intact"),
        ("ok", 5, "always", "retry"),
    ],
)
def test_sandbox_inspection_outcomes(note, attempt, mode, outcome):
    assert sandbox_outcome(note=note, attempt=attempt, fail_mode=mode)[0] == outcome


def test_sandbox_return_journey_scans_to_receipt(django_capture_on_commit_callbacks):
    line = rf.signed_line(signed_at=clock.now() - timedelta(days=1))
    consumer = rf.consumer_actor(line.order.consumer)
    merchant = rf.merchant_actor(line.order.merchant)
    request = services.return_request_create(
        line=line, kind="return_refund", reason="no_reason", quantity=1, actor=consumer
    )
    services.return_request_approve(request=request, actor=merchant)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.return_ship_back(
            request=request, actor=consumer, carrier="SANDBOX", tracking_number="SBR1"
        )
    assert callbacks
    assert tasks.sandbox_return_step(request.pk, 0) == 1
    request.refresh_from_db()
    assert request.return_first_scan_at is not None
    assert Refund.objects.get(request=request).source == "platform_express"
    assert tasks.sandbox_return_step(request.pk, 1) == 2
    assert tasks.sandbox_return_step(request.pk, 2) is None
    request.refresh_from_db()
    assert request.status == "received"
    assert tasks.sandbox_return_step(request.pk, 2) is None  # repeat: nothing more
