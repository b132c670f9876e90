"""Query budget of a create (issue 4 benchmark): policies are read once per scope; a create and
an instant refund run a fixed, small number of statements (issue 12; ``bench/returns.py``
shows them, with the session's two reads this client does not make)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aftersales import clock
from returns.tests import factories as rf

pytestmark = pytest.mark.django_db

QUERY_BUDGET = 19  # the bench's 20 less the session's two reads, plus the default quantity's
INSTANT_REFUND_BUDGET = 27  # the bench's 29 less the session's two reads


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


def test_instant_refund_statements(api, merchant_a, roles):
    """An unshipped refund-only request over two tenders (R11): approved, the line and the
    order cancelled, the gateway asked for both tenders, everyone told, in a fixed number of
    statements: no lock or read repeated, one insert each for events, timeline, gateway
    refunds, refund parts, notifications and their deliveries."""
    consumer = roles["consumer_a"].consumer
    client = api("consumer_a")
    first = rf.order_line(merchant=merchant_a, consumer=consumer)
    body = {"line": first.pk, "kind": "refund_only", "reason": "no_reason"}
    assert client.post("/api/v1/returns/", body, format="json").status_code == 201
    line = rf.order_line(
        merchant=merchant_a, consumer=consumer, tenders=(("card", "60.00"), ("balance", None))
    )
    body = {"line": line.pk, "kind": "refund_only", "reason": "no_reason", "quantity": 1}
    with CaptureQueriesContext(connection) as ctx:
        r = client.post("/api/v1/returns/", body, format="json")
    assert r.status_code == 201, r.content
    answer = r.json()
    assert answer["status"] == "refunding"
    assert sorted(p["tender_kind"] for p in answer["refund"]["parts"]) == ["balance", "card"]
    sqls = [q["sql"] for q in ctx.captured_queries]
    assert len(sqls) <= INSTANT_REFUND_BUDGET, "\n".join(q[:90] for q in sqls)
    for table in ("aftersales_timelineevent", "aftersales_domainevent", "orders_gatewayrefund"):
        assert len([q for q in sqls if q.startswith(f'INSERT INTO "{table}"')]) == 1, table
    assert not [q for q in sqls if q.startswith('UPDATE "returns_refundpart"')]
    locks = [q for q in sqls if "FOR UPDATE" in q]
    assert len(locks) == 3  # the order, the line, the tenders (their sums read after the lock)
