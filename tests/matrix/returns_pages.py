"""Who may open and post the return pages (``tests.matrix``): the consumer pages under
/my/ belong to the request's (or the line's) consumer, the merchant portal under /merchant/ to
the merchant's staff. Everyone else gets 404 (a signed-in other role) or the login page.

Each write answers a redirect to the request's page (302) when it succeeds.
"""

from returns.models import (
    Arbitration,
    ExchangeDifferencePayment,
    Refund,
    ReturnEvidence,
    ReturnRequest,
)
from tests.matrix import CONSUMER_A, MERCHANT_A_STAFF, Read, Target, Write, register

DONE = (302,)
CHANGES = (ReturnRequest,)


def _line(side):
    from returns.tests.factories_pages import signed_line

    return signed_line(
        consumer=side.consumer,
        merchant=side.merchant,
        product_name=f"矩阵退货商品-{side.code}",
        number=f"MATRIX-RET-{side.code.upper()}",
    )


def _request_in(status, **kw):
    def setup(w, side):
        from returns.tests.factories_pages import page_request

        request = page_request(_line(side), status=status, **kw)
        return Target(kwargs={"pk": request.pk}, row=request.number, obj=request)

    return setup


def _line_target(w, side):
    line = _line(side)
    return Target(kwargs={"pk": line.pk}, row=line.product_name)


def _evidence_target(party):
    def setup(w, side):
        from returns.tests.factories_pages import page_evidence

        target = _request_in("requested")(w, side)
        item = page_evidence(target.obj, party=party, name=f"matrix-{side.code}.jpg")
        return Target(kwargs={"pk": target.obj.pk, "evidence_pk": item.pk})

    return setup


def _photo(w, t):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from returns.tests.factories_pages import JPEG

    return {"evidence": SimpleUploadedFile("more.jpg", JPEG, content_type="image/jpeg")}


def _slot(w, t):
    from returns.forms import pickup_slot_choices

    return {"slot": pickup_slot_choices()[0][0]}


# -- consumer pages ---------------------------------------------------------------------------
register(
    "my:line-after-sales",
    setup=_line_target,
    get=Read(CONSUMER_A),
    post=Write(
        CONSUMER_A,
        body={"kind": "return_refund", "reason": "no_reason", "quantity": 1},
        touches=CHANGES,
        status=DONE,
    ),
)
register("my:return-list", setup=_request_in("requested"), get=Read(CONSUMER_A))
register("my:return-detail", setup=_request_in("requested"), get=Read(CONSUMER_A))
register(
    "my:return-ship",
    setup=_request_in("approved"),
    visible=CONSUMER_A,
    post=Write(
        CONSUMER_A,
        body={"carrier": "顺丰速运", "tracking_number": "SF1234567890"},
        touches=CHANGES,
        status=DONE,
    ),
)
register(
    "my:return-pickup",
    setup=_request_in("approved"),
    visible=CONSUMER_A,
    post=Write(CONSUMER_A, body=_slot, touches=CHANGES, status=DONE),
)
register(
    "my:return-pay-difference",
    setup=_request_in("approved", kind="spec_exchange", price_difference="20.00"),
    visible=CONSUMER_A,
    post=Write(
        CONSUMER_A, body={"method": "card"}, touches=(ExchangeDifferencePayment,), status=DONE
    ),
)
register(
    "my:return-cancel",
    setup=_request_in("requested"),
    visible=CONSUMER_A,
    post=Write(CONSUMER_A, body={"confirm": "on"}, touches=CHANGES, status=DONE),
)
register(
    "my:return-escalate",
    setup=_request_in("rejected"),
    visible=CONSUMER_A,
    post=Write(
        CONSUMER_A, body={"statement": "商品有划痕，商家拒绝不合理"}, touches=CHANGES, status=DONE
    ),
)
register("my:return-evidence", setup=_evidence_target("consumer"), get=Read(CONSUMER_A))
register(
    "my:return-evidence-add",
    setup=_request_in("requested"),
    visible=CONSUMER_A,
    post=Write(CONSUMER_A, body=_photo, touches=(ReturnEvidence,), status=DONE),
)

# -- merchant portal --------------------------------------------------------------------------
register("merchant:return-list", setup=_request_in("requested"), get=Read(MERCHANT_A_STAFF))
register("merchant:return-detail", setup=_request_in("requested"), get=Read(MERCHANT_A_STAFF))
register(
    "merchant:return-approve",
    setup=_request_in("requested"),
    visible=MERCHANT_A_STAFF,
    post=Write(MERCHANT_A_STAFF, body={}, touches=CHANGES, status=DONE),
)
register(
    "merchant:return-reject",
    setup=_request_in("requested"),
    visible=MERCHANT_A_STAFF,
    post=Write(
        MERCHANT_A_STAFF, body={"reason": "商品已使用，影响二次销售"}, touches=CHANGES, status=DONE
    ),
)
register(
    "merchant:return-receive",
    setup=_request_in("return_shipped"),
    visible=MERCHANT_A_STAFF,
    post=Write(MERCHANT_A_STAFF, body={"intact": "yes"}, touches=CHANGES, status=DONE),
)
register(
    "merchant:return-refund",
    setup=_request_in("received", inspection_intact=True),
    visible=MERCHANT_A_STAFF,
    post=Write(
        MERCHANT_A_STAFF, body={"confirm": "on"}, touches=(ReturnRequest, Refund), status=DONE
    ),
)
register(
    "merchant:return-ship-replacement",
    setup=_request_in("received", kind="exchange", reason="quality", inspection_intact=True),
    visible=MERCHANT_A_STAFF,
    post=Write(
        MERCHANT_A_STAFF,
        body={"carrier": "顺丰速运", "tracking_number": "SF9876543210"},
        touches=CHANGES,
        status=DONE,
    ),
)
register(
    "merchant:return-answer",
    setup=_request_in("arbitration", reason="quality"),
    visible=MERCHANT_A_STAFF,
    post=Write(
        MERCHANT_A_STAFF,
        body={"statement": "商品出库时完好，有出库视频"},
        touches=(Arbitration,),
        status=DONE,
    ),
)
register("merchant:return-evidence", setup=_evidence_target("merchant"), get=Read(MERCHANT_A_STAFF))
register(
    "merchant:return-evidence-add",
    setup=_request_in("requested"),
    visible=MERCHANT_A_STAFF,
    post=Write(MERCHANT_A_STAFF, body=_photo, touches=(ReturnEvidence,), status=DONE),
)
