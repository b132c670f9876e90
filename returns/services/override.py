"""Platform override: staff move a request to any status, with a recorded reason."""

from django.db import transaction
from django.utils.translation import gettext as _

from aftersales.errors import InvalidInput

from .. import rules
from ..models import Refund
from .common import locked_request, notify_parties, publish, require_platform, required_text
from .moves import move
from .refunds import refund_start

OVERRIDE_MOVES = {s: set(rules.RETURN_MOVES) - {s} for s in rules.RETURN_MOVES}
"""Platform override (``return_override``): any status to any other, with a recorded reason."""


def return_override(*, request, to_status, reason, actor):
    """Platform staff move a request to any status, with a recorded reason (issue 4 "override
    any step"). Moving to ``refunding`` starts the refund if none exists."""
    reason = required_text(reason, "reason", _("人工干预需要说明理由。"))
    if to_status not in rules.RETURN_MOVES:
        raise InvalidInput(
            _("目标状态无效。"),
            code="status_invalid",
            fields={"to_status": sorted(rules.RETURN_MOVES)},
        )
    with transaction.atomic():
        request = locked_request(request)
        require_platform(actor, request)
        before = request.status
        request = move(
            request,
            to=to_status,
            actor=actor,
            reason=reason,
            moves=OVERRIDE_MOVES,
            verb="return.overridden",
            data={"override": True},
        )
        if to_status == "refunding":
            refund_start(request, amount=request.amount, actor=actor, source=Refund.Source.MERCHANT)
        publish("return.overridden", request, from_status=before, reason=reason)
        notify_parties(request, "return.overridden", actor=actor, reason=reason)
    return request
