"""The merchant's workbench (issue 14): the counts of the cases waiting for the merchant's staff,
only their merchant's, in a fixed number of queries whatever the number of cases."""

import re

import pytest

from repairs.tests import factories_pages as fp
from returns.tests.factories_pages import page_request, signed_line

pytestmark = pytest.mark.django_db


def _counts(body):
    tiles = re.findall(
        r'class="workbench-tile[^"]*" data-testid="workbench-([a-z-]+)"'
        r'.*?data-testid="count">(\d+)<',
        body,
        re.S,
    )
    return {key: int(count) for key, count in tiles}


def _cases(consumer, merchant, n):
    for i in range(n):
        line = signed_line(consumer=consumer, merchant=merchant, product_name=f"商品{i}")
        page_request(line, status="requested")
        page_request(
            signed_line(consumer=consumer, merchant=merchant, product_name=f"仲裁{i}"),
            status="arbitration",
            reason="quality",
        )
        fp.repair(card=fp.card(consumer=consumer, merchant=merchant, product_name=f"电视{i}"))


def test_the_workbench_counts_only_the_merchants_cases_in_a_fixed_number_of_queries(
    client, roles, merchant_a, merchant_b, django_assert_max_num_queries
):
    consumer = roles["consumer_a"].consumer
    _cases(consumer, merchant_a, 1)
    _cases(consumer, merchant_b, 2)  # another merchant's: never counted
    client.force_login(roles["merchant_a"])
    with django_assert_max_num_queries(12) as few:
        body = client.get("/merchant/").content.decode()
    counts = _counts(body)
    assert counts["returns-to-review"] == 1
    assert counts["arbitrations-to-answer"] == 1
    assert counts["repairs-to-assign"] == 1 and counts["repairs-open"] == 1
    assert counts["returns-to-receive"] == 0
    # Each case once in the total: the open repair is the one to assign.
    assert "共有 3 项待您处理" in body
    _cases(consumer, merchant_a, 3)
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = client.get("/merchant/").content.decode()
    assert _counts(body)["returns-to-review"] == 4
