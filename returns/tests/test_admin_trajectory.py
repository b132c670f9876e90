"""The arbitration review shows the carrier trajectories of the case's parcels as evidence
(standard 6.2.3.2): the outbound parcel of the line and the return parcel's scans, oldest
first."""

from datetime import timedelta

import pytest
from django.urls import reverse

from aftersales import clock
from orders.models import Shipment
from orders.services import tracking_event_record
from returns import services
from returns.selectors import parcel_trajectories
from returns.tests import factories as rf

pytestmark = pytest.mark.django_db


def disputed_with_scans():
    now = clock.now()
    line = rf.signed_line(signed_at=now - timedelta(days=3))
    line.order.consumer.credit_score = 100  # no express refund (R12)
    line.order.consumer.save(update_fields=["credit_score"])
    outbound = Shipment.objects.get(line=line)
    tracking_event_record(
        shipment=outbound,
        kind="picked_up",
        occurred_at=now - timedelta(days=4),
        actor=rf.SYSTEM,
        location="深圳宝安",
    )
    request, consumer, merchant = rf.request_at(line, "return_shipped", tracking="RTRAJ1")
    for kind, hours, place in (("in_transit", 5, "杭州转运中心"), ("picked_up", 6, "上海浦东")):
        services.return_parcel_scan_record(
            request=request,
            kind=kind,
            occurred_at=now - timedelta(hours=hours),
            actor=rf.SYSTEM,
            location=place,
            description=f"{place} 扫描",
        )
    services.return_receive(
        request=request, actor=merchant, intact=False, note="破损", evidence=[rf.photo()]
    )
    services.return_escalate(request=request, actor=consumer, statement="寄出时完好")
    request.refresh_from_db()
    return request


def test_trajectories_of_the_outbound_and_the_return_parcel():
    request = disputed_with_scans()
    outbound, back = parcel_trajectories(request)
    assert [e["location"] for e in outbound.events] == ["深圳宝安"]
    assert back.tracking_number == "RTRAJ1"
    assert [e["location"] for e in back.events] == ["上海浦东", "杭州转运中心"]  # oldest first
    assert [e["label"] for e in back.events] == ["已揽收", "运输中"]


def test_arbitration_review_shows_the_trajectories(client, roles):
    request = disputed_with_scans()
    client.force_login(roles["after_sales_agent"])
    url = reverse("admin:returns_arbitration_review", args=[request.arbitration.pk])
    page = client.get(url).content.decode()
    assert 'data-testid="trajectories"' in page
    assert page.count('data-testid="trajectory"') == 2
    assert "RTRAJ1" in page and "杭州转运中心 扫描" in page and "深圳宝安" in page
