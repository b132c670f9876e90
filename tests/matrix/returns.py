"""Who may read and change the returns endpoints and pages (``tests.matrix``).

A request belongs to its consumer and its merchant: both read it (so do platform readers, and a
mediator granted ``returns.view_returnrequest``). The consumer asks, cancels, ships back, books a
pickup and escalates; the merchant (staff or a merchant key) approves, rejects, receives, refunds,
ships the replacement, pushes return-parcel scans and answers in arbitration; platform writers
may do all of that and alone override, ask for an inspection and decide. A side that sees the
request but may not act gets 403 (``consumer_only``, ``platform_only``, ``read_only_role``).

``case()`` (``returns/tests/cases.py``, shared with the API tests) builds a request in a given
status through the services, as the flow would.
"""

import base64
from datetime import datetime, time, timedelta

from aftersales import clock
from aftersales.tests.uploads import jpeg_bytes
from orders.models import PickupBooking, Shipment
from returns.models import (
    Arbitration,
    ExchangeDifferencePayment,
    InspectionRequest,
    Refund,
    ReturnEvidence,
    ReturnRequest,
)
from returns.tests.cases import case
from tests.matrix import (
    CONSUMER_A,
    MERCHANT_A,
    PLATFORM_READ,
    PLATFORM_WRITE,
    Read,
    Target,
    Write,
    register,
)

OWNERS_READ = CONSUMER_A | MERCHANT_A | PLATFORM_READ
CONSUMER_WRITE = CONSUMER_A | PLATFORM_WRITE
MERCHANT_WRITE = MERCHANT_A | PLATFORM_WRITE
GRANT = "returns.view_returnrequest"
JPEG = base64.b64encode(jpeg_bytes()).decode()


def fresh_line(side):
    """Another line of ``side``'s consumer at ``side``'s merchant, signed yesterday."""
    from returns.tests import factories as rf

    return rf.signed_line(
        signed_at=clock.now() - timedelta(days=1), merchant=side.merchant, consumer=side.consumer
    )


def _in(status, **kw):
    def setup(w, side):
        request = case(side.merchant, side.consumer, to=status, **kw)
        return Target(kwargs={"pk": request.pk}, row=request.pk, obj=request)

    return setup


def _recent():
    return (clock.now() - timedelta(minutes=5)).isoformat()


def _tomorrow_at(hour):
    """``hour`` o'clock tomorrow, Shanghai: a pickup slot the sandbox carrier serves."""
    day = clock.local(clock.now()).date() + timedelta(days=1)
    return datetime.combine(day, time(hour), tzinfo=clock.SHANGHAI)


# -- an order line's options ----------------------------------------------------------------------
def _line_target(w, side):
    return Target(kwargs={"pk": fresh_line(side).pk})


register("order-line-return-options", setup=_line_target, get=Read(OWNERS_READ))


# -- requests -------------------------------------------------------------------------------------
def _request_with_line(w, side):
    target = _in("requested")(w, side)
    return Target(
        kwargs=target.kwargs, row=target.row, obj=target.obj, extra={"line": fresh_line(side).pk}
    )


def _create_body(line_id):
    return {"line": line_id, "kind": "return_refund", "reason": "no_reason", "quantity": 1}


register(
    "return-list",
    grant=GRANT,
    setup=_request_with_line,
    get=Read(OWNERS_READ),
    # Consumers ask; platform writers may ask for them; merchants may not (403).
    post=Write(
        CONSUMER_WRITE,
        touches=[ReturnRequest],
        body=lambda w, t: _create_body(t.extra["line"]),
        foreign_body=lambda w, t: _create_body(fresh_line(w.b).pk),
    ),
)
register("return-detail", grant=GRANT, setup=_in("requested"), get=Read(OWNERS_READ))
register(
    "return-approve",
    setup=_in("requested"),
    visible=OWNERS_READ,
    post=Write(MERCHANT_WRITE, touches=[ReturnRequest], body={"reason": "同意退货"}),
)
register(
    "return-reject",
    setup=_in("requested"),
    visible=OWNERS_READ,
    post=Write(MERCHANT_WRITE, touches=[ReturnRequest], body={"reason": "商品已使用"}),
)
register(
    "return-cancel",
    setup=_in("requested"),
    visible=OWNERS_READ,
    post=Write(CONSUMER_WRITE, touches=[ReturnRequest], body={"reason": "不想退了"}),
)
register(
    "return-ship-back",
    setup=_in("approved"),
    visible=OWNERS_READ,
    post=Write(
        CONSUMER_WRITE,
        touches=[ReturnRequest],
        body={"carrier": "SF", "tracking_number": "SF-MATRIX-BACK"},
    ),
)
register(
    "return-book-pickup",
    setup=_in("approved"),
    visible=OWNERS_READ,
    post=Write(
        CONSUMER_WRITE,
        touches=[ReturnRequest, PickupBooking],
        body=lambda w, t: {
            "slot_start": _tomorrow_at(10).isoformat(),
            "slot_end": _tomorrow_at(12).isoformat(),
        },
    ),
)
register(
    "return-receive",
    setup=_in("return_shipped"),
    visible=OWNERS_READ,
    post=Write(MERCHANT_WRITE, touches=[ReturnRequest], body={"intact": True, "note": "完好"}),
)
register(
    "return-refund",
    setup=_in("received"),
    visible=OWNERS_READ,
    post=Write(MERCHANT_WRITE, touches=[ReturnRequest, Refund], body={}),
)
register(
    "return-ship-exchange",
    setup=_in("received", kind="exchange"),
    visible=OWNERS_READ,
    post=Write(
        MERCHANT_WRITE,
        touches=[ReturnRequest, Shipment],
        body={"carrier": "SF", "tracking_number": "SF-MATRIX-EXCHANGE"},
    ),
)


def _difference_due(w, side):
    """A spec exchange to a dearer spec (R18): the consumer owes the difference."""
    from decimal import Decimal

    from orders.tests import factories as of
    from returns import services
    from returns.tests import factories as rf

    line = fresh_line(side)
    dearer = of.SkuFactory(product=line.sku.product, price=line.unit_price + Decimal("20"))
    request = services.return_request_create(
        line=line,
        kind="spec_exchange",
        reason="wrong_size",
        quantity=1,
        actor=rf.consumer_actor(side.consumer),
        exchange_sku=dearer,
    )
    return Target(kwargs={"pk": request.pk}, row=request.pk, obj=request)


register(
    "return-pay-difference",
    setup=_difference_due,
    visible=OWNERS_READ,
    post=Write(CONSUMER_WRITE, touches=[ExchangeDifferencePayment], body={"method": "card"}),
)
register(
    "return-escalate",
    setup=_in("rejected"),
    visible=OWNERS_READ,
    post=Write(
        CONSUMER_WRITE, touches=[ReturnRequest, Arbitration], body={"statement": "商品有质量问题"}
    ),
)
register(
    "return-override",
    setup=_in("requested"),
    visible=OWNERS_READ,
    post=Write(
        PLATFORM_WRITE,
        touches=[ReturnRequest],
        body={"to_status": "closed", "reason": "消费者电话要求关闭"},
    ),
)
register(
    "return-parcel-events",
    setup=_in("return_shipped"),
    visible=OWNERS_READ,
    post=Write(
        MERCHANT_WRITE,
        touches=[ReturnRequest],
        body=lambda w, t: {"kind": "picked_up", "occurred_at": _recent(), "location": "上海"},
    ),
)
register(
    "return-evidence",
    setup=_in("requested"),
    visible=OWNERS_READ,
    post=Write(
        CONSUMER_A | MERCHANT_WRITE,
        touches=[ReturnEvidence],
        body={"evidence": [{"filename": "matrix.jpg", "content_base64": JPEG}], "note": "细节"},
    ),
)


def _evidence_target(w, side):
    request = case(side.merchant, side.consumer, reason="quality", evidence=True)
    item = request.evidence.get()
    return Target(kwargs={"pk": request.pk, "evidence_pk": item.pk}, obj=request)


register("return-evidence-file", grant=GRANT, setup=_evidence_target, get=Read(OWNERS_READ))


# -- arbitration ----------------------------------------------------------------------------------
def _arbitration(w, side):
    request = case(side.merchant, side.consumer, to="arbitration")
    return Target(kwargs={"pk": request.arbitration.pk}, row=request.arbitration.pk, obj=request)


def _answered_arbitration(w, side):
    """The merchant answered: the platform may decide (RULES.md R21)."""
    request = case(side.merchant, side.consumer, to="answered")
    return Target(kwargs={"pk": request.arbitration.pk}, row=request.arbitration.pk, obj=request)


register("arbitration-list", grant=GRANT, setup=_arbitration, get=Read(OWNERS_READ))
register("arbitration-detail", grant=GRANT, setup=_arbitration, get=Read(OWNERS_READ))
register(
    "arbitration-answer",
    setup=_arbitration,
    visible=OWNERS_READ,
    post=Write(MERCHANT_WRITE, touches=[Arbitration], body={"statement": "商品出库时完好"}),
)
register(
    "arbitration-request-inspection",
    setup=_arbitration,
    visible=OWNERS_READ,
    post=Write(PLATFORM_WRITE, touches=[Arbitration, InspectionRequest], body={}),
)
register(
    "arbitration-decide",
    setup=_answered_arbitration,
    visible=OWNERS_READ,
    post=Write(
        PLATFORM_WRITE,
        touches=[Arbitration, ReturnRequest],
        body={"decision": "reject", "reason": "消费者未能证明质量问题"},
    ),
)
