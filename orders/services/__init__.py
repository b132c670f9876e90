"""Writes of catalog, orders, payments and logistics (standard 6.2).

Every function is keyword-only, owns its transaction, locks rows in a fixed order (order →
line; shipment → order; tender → refund), records a timeline event and publishes a domain
event. Work for other processes is enqueued with ``transaction.on_commit``.

The package by sub-domain: ``catalog`` (categories, products, SKUs, price history),
``orders`` (orders and lines), ``payments`` (payments and tenders), ``gateway`` (refunds,
charges and payouts through the payment gateway), ``shipments`` (parcels, tracking, sign-off),
``pickups`` (carrier pickups); ``common`` holds the helpers they share.
"""

from .catalog import (
    category_upsert,
    product_upsert,
    sku_set_price,
    sku_upsert,
)
from .common import (
    FUTURE_TOLERANCE,
    ORDER_CREATE_PLATFORM_ONLY,
    high_value_threshold,
    line_is_high_value,
    require_merchant_write,
    require_order_create,
)
from .gateway import (
    TRANSFER_METHODS,
    gateway_charge_request,
    gateway_deduction_request,
    gateway_payout_request,
    gateway_refund_attempt_record,
    gateway_refund_request,
    gateway_refunds_request,
    gateway_transfer_attempt_record,
    gateway_transfer_request,
    tenders_for_refund,
)
from .orders import (
    SHIPPING_FIELDS,
    line_cancel,
    line_unsealed_record,
    order_create,
    order_update,
)
from .payments import (
    payment_record,
)
from .pickups import (
    pickup_book,
    pickup_confirm,
    pickup_fail,
)
from .shipments import (
    shipment_create,
    sign_off_record,
    tracking_event_record,
    tracking_events_push,
)

__all__ = [
    "category_upsert",
    "product_upsert",
    "sku_upsert",
    "sku_set_price",
    "SHIPPING_FIELDS",
    "order_create",
    "order_update",
    "line_cancel",
    "line_unsealed_record",
    "payment_record",
    "gateway_refund_request",
    "gateway_refunds_request",
    "tenders_for_refund",
    "gateway_refund_attempt_record",
    "TRANSFER_METHODS",
    "gateway_transfer_request",
    "gateway_transfer_attempt_record",
    "gateway_charge_request",
    "gateway_deduction_request",
    "gateway_payout_request",
    "shipment_create",
    "tracking_event_record",
    "tracking_events_push",
    "sign_off_record",
    "pickup_book",
    "pickup_confirm",
    "pickup_fail",
    "FUTURE_TOLERANCE",
    "require_merchant_write",
    "ORDER_CREATE_PLATFORM_ONLY",
    "require_order_create",
    "high_value_threshold",
    "line_is_high_value",
]
