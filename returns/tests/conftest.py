"""Fixtures of the returns tests: evidence files go to a temporary MEDIA_ROOT; the sandbox
gateway is answered by calling its task function (no worker)."""

import pytest


@pytest.fixture(autouse=True)
def _media(tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def settle_refunds(order=None):
    """Answer every pending gateway refund once per attempt until none is pending."""
    from orders import tasks
    from orders.models import GatewayRefund

    for _ in range(10):
        qs = GatewayRefund.objects.filter(status="pending")
        if order is not None:
            qs = qs.filter(order=order)
        ids = list(qs.values_list("pk", flat=True))
        if not ids:
            return
        for pk in ids:
            tasks.sandbox_refund_process(pk)
