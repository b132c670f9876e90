"""Order lines and return requests for the page, browser and permission-matrix tests.

``returns/tests/factories.py`` belongs to the services work; these builders make the rows the
consumer pages and the merchant portal show. Requests in a given status are written directly
(the services' own tests prove how they get there); a request made through the pages goes
through ``services.return_request_create``.
"""

import struct
import zlib
from datetime import timedelta
from decimal import Decimal

from django.core.files.base import ContentFile

from aftersales import clock
from aftersales.tests.uploads import jpeg_bytes
from orders.models import Shipment, Sku
from orders.tests.factories_pages import page_order
from returns.models import Arbitration, ReturnEvidence, ReturnRequest

# A small real JPEG (the upload check decodes it; the browser shows it).
JPEG = jpeg_bytes()


def png(width=48, height=48, rgb=(228, 57, 60)):
    """A real PNG image (a plain colour), for a photo the browser displays."""
    row = b"\x00" + bytes(rgb) * width
    raw = zlib.compress(row * height)

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def signed_line(*, consumer, merchant, signed_at=None, extra_specs=(), **order_kwargs):
    """A delivered order with one line whose parcel was signed at ``signed_at`` (default: a
    day ago, inside the 7-day no-reason window); ``extra_specs`` = ``[(spec, price, stock)]``
    adds other SKUs of the same product (R18)."""
    signed_at = signed_at or clock.now() - timedelta(days=1)
    order_kwargs.setdefault("placed_at", signed_at - timedelta(days=3))
    order = page_order(consumer=consumer, merchant=merchant, status="delivered", **order_kwargs)
    line = order.lines.select_related("sku__product").get()
    Shipment.objects.create(
        order=order,
        line=line,
        merchant=merchant,
        carrier="顺丰速运",
        tracking_number=f"SF{line.pk:010d}",
        shipped_at=signed_at - timedelta(days=1),
        signed_at=signed_at,
        status="signed",
    )
    for i, (spec, price, stock) in enumerate(extra_specs):
        Sku.objects.create(
            product=line.sku.product,
            code=f"{line.sku.code}-X{i}",
            spec=spec,
            price=Decimal(price),
            stock=stock,
        )
    return line


def page_request(line, *, status="requested", kind="return_refund", reason="no_reason", **kw):
    """A request for one unit of ``line`` in ``status`` (written directly)."""
    order = line.order
    now = clock.now()
    stamps = {
        "approved": ["approved_at"],
        "rejected": ["rejected_at"],
        "return_shipped": ["approved_at", "return_shipped_at"],
        "received": ["approved_at", "return_shipped_at", "received_at"],
        "arbitration": ["rejected_at", "escalated_at"],
    }
    fields = {name: now for name in stamps.get(status, [])}
    if status in ("return_shipped", "received"):
        fields.update(return_carrier="顺丰速运", return_tracking_number=f"SFR{line.pk:08d}")
    fields.update(kw)
    request = ReturnRequest.objects.create(
        number_day=fields.pop("number_day", f"{clock.local(now):%Y%m%d}"),
        order=order,
        line=line,
        merchant_id=order.merchant_id,
        consumer_id=order.consumer_id,
        kind=kind,
        reason=reason,
        reason_kind="quality"
        if reason not in ("no_reason", "changed_mind", "wrong_size")
        else "no_reason",
        option="no_reason_return",
        rule="R1",
        explanation="七天无理由退货可申请至 2026-12-08 24:00（R1）",
        quantity=fields.pop("quantity", 1),
        amount=fields.pop("amount", line.paid_amount / line.quantity),
        shipping_payer="consumer",
        shipping_rule="R8",
        shipping_explanation="七天无理由退货，运费由消费者承担（R8）",
        status=status,
        requested_at=now - timedelta(hours=1),
        **fields,
    )
    if status == "arbitration":
        Arbitration.objects.create(
            request=request,
            merchant_id=order.merchant_id,
            consumer_id=order.consumer_id,
            consumer_statement="商品确有质量问题",
        )
    return request


def page_evidence(request, *, party="consumer", name="photo.jpg"):
    """A photo attached to ``request`` by ``party``."""
    item = ReturnEvidence(
        request=request, merchant_id=request.merchant_id, party=party, kind="photo"
    )
    item.file.save(name, ContentFile(JPEG), save=True)
    return item
