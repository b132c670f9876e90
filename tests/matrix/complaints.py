"""Who may read and change the complaints endpoints (``tests.matrix``).

A complaint belongs to its consumer and its merchant: both read it, platform readers too, and
a mediator granted ``complaints.view_complaint``. The consumer complains, answers a request for
information, asks for platform mediation and reopens; the merchant (staff or key) answers and
asks the consumer for more; platform writers may do all of that and alone resolve, close,
regrade and decline (C5). The log's checkpoint and the receipt check are public.
"""

from datetime import date

from aftersales import clock
from complaints.models import Checkpoint, Complaint
from tests.matrix import (
    CONSUMER_A,
    EVERYONE,
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
GRANT = "complaints.view_complaint"
TOUCHES = (Complaint,)


def _order(side):
    from complaints.tests.factories import order_of

    return order_of(side.merchant, side.consumer)


def _complaint(side, to="merchant_handling"):
    from complaints import services
    from complaints.tests.factories import complain, merchant_actor, platform_actor

    if to == "received":
        today = clock.today()
        return complain(_order(side), harm_known_on=date(today.year - 4, 1, 1))
    complaint = complain(_order(side))
    if to == "waiting_consumer":
        services.complaint_request_info(
            complaint=complaint, actor=merchant_actor(side.merchant), message="请补充照片"
        )
    if to == "resolved":
        services.complaint_resolve(complaint=complaint, actor=platform_actor(), conclusion="已退款")
    return complaint


def _in(status):
    def setup(w, side):
        complaint = _complaint(side, status)
        return Target(kwargs={"pk": complaint.pk}, row=complaint.pk, obj=complaint)

    return setup


def _with_order(w, side):
    target = _in("merchant_handling")(w, side)
    return Target(
        kwargs=target.kwargs, row=target.row, obj=target.obj, extra={"order": _order(side).pk}
    )


def _create_body(order_id):
    return {
        "subject_kind": "order",
        "order": order_id,
        "issue": "product_quality",
        "description": "矩阵投诉",
        "amount": "100.00",
    }


register(
    "complaint-list",
    grant=GRANT,
    setup=_with_order,
    get=Read(OWNERS_READ),
    post=Write(
        CONSUMER_WRITE,
        touches=TOUCHES,
        body=lambda w, t: _create_body(t.extra["order"]),
        foreign_body=lambda w, t: _create_body(_order(w.b).pk),
    ),
)
register("complaint-detail", grant=GRANT, setup=_in("merchant_handling"), get=Read(OWNERS_READ))
register("complaint-receipt", setup=_in("merchant_handling"), get=Read(OWNERS_READ))
register(
    "complaint-respond",
    setup=_in("merchant_handling"),
    visible=OWNERS_READ,
    post=Write(MERCHANT_WRITE, touches=TOUCHES, body={"message": "已联系消费者"}),
)
register(
    "complaint-request-info",
    setup=_in("merchant_handling"),
    visible=OWNERS_READ,
    post=Write(MERCHANT_WRITE, touches=TOUCHES, body={"message": "请提供照片"}),
)
register(
    "complaint-reply",
    setup=_in("waiting_consumer"),
    visible=OWNERS_READ,
    post=Write(CONSUMER_WRITE, touches=TOUCHES, body={"message": "照片已上传"}),
)
register(
    "complaint-escalate",
    setup=_in("merchant_handling"),
    visible=OWNERS_READ,
    post=Write(CONSUMER_WRITE, touches=TOUCHES, body={"reason": "商家不处理"}),
)
register(
    "complaint-resolve",
    setup=_in("merchant_handling"),
    visible=OWNERS_READ,
    post=Write(PLATFORM_WRITE, touches=TOUCHES, body={"conclusion": "商家已退款"}),
)
register(
    "complaint-close",
    setup=_in("resolved"),
    visible=OWNERS_READ,
    post=Write(PLATFORM_WRITE, touches=TOUCHES, body={"reason": "结案"}),
)
register(
    "complaint-reopen",
    setup=_in("resolved"),
    visible=OWNERS_READ,
    post=Write(CONSUMER_WRITE, touches=TOUCHES, body={"reason": "问题未解决"}),
)
register(
    "complaint-regrade",
    setup=_in("merchant_handling"),
    visible=OWNERS_READ,
    post=Write(PLATFORM_WRITE, touches=TOUCHES, body={"grade": "P1", "reason": "媒体报道"}),
)
register(
    "complaint-decline",
    setup=_in("received"),
    visible=OWNERS_READ,
    post=Write(PLATFORM_WRITE, touches=TOUCHES, body={"reason": "超过三年（C5）"}),
)


# -- public ----------------------------------------------------------------------------------
def _receipt(w, side):
    from complaints import services

    complaint = _complaint(side)
    return Target(extra={"receipt": services.complaint_receipt(complaint=complaint)})


register("complaint-log-checkpoint", setup=_receipt, get=Read(EVERYONE))
register(
    "complaint-log-verify",
    setup=_receipt,
    post=Write(
        EVERYONE,
        reads_only=True,
        touches=(Checkpoint, Complaint),
        body=lambda w, t: t.extra["receipt"],
    ),
)
register("complaint-log-consistency", setup=_receipt, get=Read(EVERYONE, params={"first": 1}))
