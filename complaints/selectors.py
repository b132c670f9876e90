"""Every read of complaints a user makes, scoped to what they may see (404 outside it)."""

from aftersales.deadlines.engine import deadlines_for
from aftersales.tenancy.scope import access, scoped

from .models import Checkpoint, Complaint, LogHead

GRANT = "complaints.view_complaint"  # a mediator sees the complaints granted to them


def complaint_list(*, actor, filters=None):
    """The complaints ``actor`` may see, newest first: the consumer's own, the merchant's, all
    for platform readers, those granted to a mediator."""
    qs = Complaint.objects.select_related("merchant", "consumer").order_by("-id")
    qs = scoped(qs, actor, grant_perm=GRANT)
    for name in ("status", "grade", "issue", "channel"):
        value = (filters or {}).get(name)
        if value:
            qs = qs.filter(**{name: value})
    return qs


def complaint_get(*, actor, pk):
    """One complaint ``actor`` may see, else ``NotFound``."""
    return access(
        Complaint.objects.select_related("merchant", "consumer"), actor, pk, grant_perm=GRANT
    )


def complaint_clocks(complaint):
    """The complaint's open deadlines (its running and paused clocks), soonest first."""
    return deadlines_for(complaint)


def checkpoint_latest():
    """The latest signed checkpoint of the complaint log (public), or ``None``."""
    return Checkpoint.objects.order_by("-id").first()


def log_size():
    """How many leaves the complaint log holds."""
    return LogHead.objects.filter(pk=1).values_list("size", flat=True).first() or 0
