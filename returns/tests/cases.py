"""Return requests taken to a given status through the services, as the flow would: for the API
tests and the permission matrix (``tests/matrix/returns.py``)."""

from datetime import timedelta

from aftersales import clock
from aftersales.tenancy.actors import SYSTEM
from returns import services
from returns.models import ReturnRequest
from returns.tests import factories as rf

STEPS = {
    "requested": (),
    "approved": ("approve",),
    "rejected": ("reject",),
    "return_shipped": ("approve", "ship_back"),
    "received": ("approve", "ship_back", "receive"),
    "arbitration": ("reject", "escalate"),
    "answered": ("reject", "escalate", "answer"),  # the platform may decide (R21)
}


def case(merchant, consumer, *, to="requested", kind="return_refund", reason="no_reason", **kw):
    """A request of ``consumer`` at ``merchant`` on a line signed yesterday, taken to status
    ``to`` (a key of ``STEPS``) by the services. ``kw`` go to the line (``price``,
    ``quantity``, ``tenders``); ``evidence=True`` attaches a photo to the request."""
    evidence = [rf.photo()] if kw.pop("evidence", False) else []
    line = rf.signed_line(
        signed_at=clock.now() - timedelta(days=1), merchant=merchant, consumer=consumer, **kw
    )
    asker = rf.consumer_actor(consumer)
    request = services.return_request_create(
        line=line, kind=kind, reason=reason, quantity=1, actor=asker, evidence=evidence
    )
    steps = {
        "approve": lambda r: services.return_request_approve(request=r, actor=SYSTEM),
        "reject": lambda r: services.return_request_reject(
            request=r, actor=SYSTEM, reason="商品已使用，不符合退货条件"
        ),
        "ship_back": lambda r: services.return_ship_back(
            request=r, actor=asker, carrier="SF", tracking_number=f"SFR{r.pk:010d}"
        ),
        "receive": lambda r: services.return_receive(request=r, actor=SYSTEM, intact=True),
        "escalate": lambda r: services.return_escalate(
            request=r, actor=asker, statement="商品确有质量问题"
        ),
        "answer": lambda r: services.arbitration_answer(
            request=r, actor=SYSTEM, statement="商品出库时完好"
        ),
    }
    for step in STEPS[to]:
        steps[step](request)
    return ReturnRequest.objects.get(pk=request.pk)
