"""The one helper that moves a request's status (``rules.RETURN_MOVES`` through
``aftersales.casefile.statuses.status_move``) with what every move implies: the reason kept on
the row, and a paid exchange difference given back when the exchange ends (``payments``, R18).
"""

from aftersales.casefile.statuses import status_move

from .. import rules
from ..models import ReturnRequest
from . import payments


def move(request, *, to, actor, reason="", data=None, moves=None, verb=None):
    """Move the locked ``request`` to ``to`` (``moves``: the allowed moves, by default
    ``rules.RETURN_MOVES``) with a timeline event and the deadlines of the new status; keep the
    reason on the row; give a paid exchange difference back when the move ends the exchange."""
    status_move(
        request,
        to=to,
        actor=actor,
        moves=moves or rules.RETURN_MOVES,
        reason=reason,
        data={"number": request.number, **(data or {})},
        timestamp_field=rules.RETURN_STATUS_TIMESTAMP.get(to),
        verb=verb or f"return.{to}",
    )
    if reason:
        ReturnRequest.objects.filter(pk=request.pk).update(status_reason=reason)
        request.status_reason = reason
    if to in payments.DIFFERENCE_GIVEN_BACK_STATUSES:
        payments.difference_give_back_if_paid(request, actor)
    # ``status_move`` updated the status and its timestamp on ``request`` too; keep the caller's
    # instance (and its loaded relations).
    return request
