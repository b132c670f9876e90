"""Query budget of a create (issue 4 benchmark): policies are read once per scope."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aftersales import clock
from returns.tests import factories as rf

pytestmark = pytest.mark.django_db

QUERY_BUDGET = 60


def test_no_reason_create_reads_policies_in_one_query(api, merchant_a, roles):
    consumer = roles["consumer_a"].consumer
    line = rf.signed_line(
        signed_at=clock.now() - timedelta(days=1), merchant=merchant_a, consumer=consumer
    )
    client = api("consumer_a")
    # What a process does once (the request table's sequence name): a first create.
    first = rf.signed_line(
        signed_at=clock.now() - timedelta(days=1), merchant=merchant_a, consumer=consumer
    )
    body = {"line": first.pk, "kind": "return_refund", "reason": "no_reason"}
    assert client.post("/api/v1/returns/", body, format="json").status_code == 201
    body = {"line": line.pk, "kind": "return_refund", "reason": "no_reason"}
    with CaptureQueriesContext(connection) as ctx:
        r = client.post("/api/v1/returns/", body, format="json")
    assert r.status_code == 201, r.content
    policy_reads = [q for q in ctx.captured_queries if "aftersales_policyversion" in q["sql"]]
    assert len(policy_reads) == 1  # was 5: one per lookup
    # The create's statements, the answer read back after the service (issue 12).
    assert len(ctx.captured_queries) <= QUERY_BUDGET, "\n".join(
        q["sql"][:90] for q in ctx.captured_queries
    )
