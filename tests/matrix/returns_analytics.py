"""Who may read the return analytics (``tests.matrix``; standard 6.4.2.1).

Platform readers see every merchant's rows, merchant staff and merchant keys their own merchant's
(the matrix checks that merchant A's row is shown exactly to A's readers and B's row exactly to
B's); consumers and mediators see none. Pages: the merchant portal only.
"""

from decimal import Decimal

from tests.matrix import (
    MERCHANT_A,
    MERCHANT_A_STAFF,
    MERCHANTS,
    PLATFORM_READ,
    Read,
    Target,
    register,
)

READERS = MERCHANT_A | PLATFORM_READ


def _sold_and_returned(w, side):
    """Three units of a product of ``side``'s merchant sold today, all three asked back for a
    quality reason: a row in every report, and a problem product under the default policy."""
    from orders.tests.factories import paid_order
    from returns.models import ReturnRequest

    order = paid_order(side.merchant, side.consumer, prices=("50.00",), quantity=3)
    line = order.lines.select_related("sku__product").get()
    line.sku.product.name = f"分析商品-{side.code}"
    line.sku.product.save(update_fields=["name"])
    ReturnRequest.objects.create(
        number_day="20261201",
        order=order,
        line=line,
        merchant=side.merchant,
        consumer=side.consumer,
        kind="return_refund",
        reason="quality",
        reason_kind="quality",
        quantity=3,
        amount=Decimal("150.00"),
    )
    return line.sku.product


def _product_row(w, side):
    product = _sold_and_returned(w, side)
    return Target(row=product.pk)


def _merchant_row(w, side):
    _sold_and_returned(w, side)
    return Target(row=side.merchant.pk)


def _page_row(w, side):
    return Target(row=_sold_and_returned(w, side).name)


register("return-analytics-products", setup=_product_row, get=Read(READERS, row_field="product_id"))
register(
    "return-analytics-problem-products",
    setup=_product_row,
    get=Read(READERS, row_field="product_id"),
)
register(
    "return-analytics-merchants", setup=_merchant_row, get=Read(READERS, row_field="merchant_id")
)
# One table per reason (a handful of rows): no tenant row to follow; every merchant may call it
# for their own numbers (tenant isolation: returns/tests/test_analytics.py).
register("return-analytics-reasons", get=Read(MERCHANTS | PLATFORM_READ))
register("merchant:returns-analytics", setup=_page_row, get=Read(MERCHANT_A_STAFF))
