"""``aftersales.api.serializers.CompiledOutputMixin`` gives exactly DRF's output: the request's
detail (with its nested refund, evidence, deadlines and timeline) and the queue rows, through
the API, compiled and plain."""

from datetime import timedelta

import pytest
from rest_framework import serializers

from aftersales import clock
from aftersales.api.serializers import CompiledOutputMixin
from returns import services
from returns.tests import factories as rf

pytestmark = pytest.mark.django_db


def _plain(monkeypatch):
    """DRF's own ``Serializer.to_representation`` for every compiled serializer."""
    monkeypatch.setattr(
        CompiledOutputMixin,
        "to_representation",
        lambda self, instance: serializers.Serializer.to_representation(self, instance),
    )


@pytest.fixture
def cases(merchant_a, roles):
    consumer = roles["consumer_a"].consumer
    ids = []
    for stage in ("requested", "approved", "received"):
        line = rf.signed_line(
            signed_at=clock.now() - timedelta(days=1), merchant=merchant_a, consumer=consumer
        )
        request, _consumer, merchant = rf.request_at(line, stage)
        if stage == "received":
            services.return_refund(request=request, actor=merchant)
        ids.append(request.pk)
    return ids


def test_detail_and_list_are_the_same_compiled_and_plain(api, cases, monkeypatch):
    client = api("consumer_a")
    urls = [f"/api/v1/returns/{pk}/" for pk in cases] + ["/api/v1/returns/"]
    compiled = [client.get(url).json() for url in urls]
    assert compiled[2]["refund"]["parts"] and compiled[2]["timeline"]  # the nested parts ran
    _plain(monkeypatch)
    assert [client.get(url).json() for url in urls] == compiled


def test_a_field_that_reads_the_request_is_refused():
    class WithFile(CompiledOutputMixin, serializers.Serializer):
        attachment = serializers.FileField()

    with pytest.raises(TypeError, match="attachment"):
        _ = WithFile({"attachment": None}).data
