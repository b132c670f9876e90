"""Reads of returns, refunds and arbitration, scoped to the caller (ARCHITECTURE.md "Tenancy").

A consumer sees their own requests, merchant staff and merchant keys their merchant's, platform
staff all, a mediator the requests granted to them (django-guardian ``view_returnrequest``).
Anything else answers ``NotFound``.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, F, OuterRef, Prefetch, Q, Subquery
from django.utils.translation import gettext as _

from aftersales import clock
from aftersales.casefile.models import TimelineEvent
from aftersales.deadlines.engine import deadlines_for
from aftersales.deadlines.models import Deadline
from aftersales.deadlines.registry import REMINDER_SUFFIX, deadline_description
from aftersales.errors import NotFound
from aftersales.tenancy.scope import access, scoped
from orders.models import OrderLine, Shipment, TrackingEvent
from orders.selectors import day_instant_or_none

from . import rules
from .models import (
    Arbitration,
    ExpressRefundLedgerEntry,
    Refund,
    RefundPart,
    ReturnAddress,
    ReturnEvidence,
    ReturnRequest,
)
from .services import RETURN_GRANT, line_options


def _base():
    return ReturnRequest.objects.select_related(
        "order", "line", "merchant", "consumer", "exchange_sku", "refund"
    )


def return_request_list(*, actor, filters=None):
    """Requests the actor may see, newest first, with order, line, merchant, consumer and
    refund loaded (a fixed number of queries per page).

    ``filters``: ``status`` (one or a list), ``kind``, ``reason``, ``number`` (exact),
    ``order`` / ``line`` (ids), ``open`` (true: still being worked on), ``express`` (bool),
    ``requested_from`` / ``requested_to`` (dates, Shanghai), ``merchant`` (platform only).
    """
    filters = filters or {}
    qs = scoped(_base(), actor, grant_perm=RETURN_GRANT)
    status = filters.get("status")
    if status:
        qs = qs.filter(status__in=status if isinstance(status, list | tuple) else [status])
    for key in ("kind", "reason", "number"):
        if filters.get(key):
            qs = qs.filter(**{key: filters[key]})
    if filters.get("order"):
        qs = qs.filter(order_id=filters["order"])
    if filters.get("line"):
        qs = qs.filter(line_id=filters["line"])
    if filters.get("open") is not None and filters.get("open") != "":
        wanted = filters["open"] in (True, "true", "1", 1)
        open_statuses = sorted(rules.OPEN_STATUSES)
        qs = qs.filter(status__in=open_statuses) if wanted else qs.exclude(status__in=open_statuses)
    if filters.get("express") is not None and filters.get("express") != "":
        qs = qs.filter(express=filters["express"] in (True, "true", "1", 1))
    if filters.get("merchant") and actor.platform_read:
        qs = qs.filter(merchant_id=filters["merchant"])
    if filters.get("requested_from") or filters.get("requested_to"):
        qs = requested_between(qs, filters.get("requested_from"), filters.get("requested_to"))
    return qs.order_by("-id")


def return_request_queue(*, actor, filters=None):
    """The merchant's (and the platform's) work queue of the portal: ``return_request_list``
    with the one whose next deadline is nearest first (issue 4: the queue is worked by its
    countdowns), those without a pending deadline after, newest first. Each request carries
    ``next_due_at``. Besides ``return_request_list``'s filters: ``q`` (the request's or the
    order's number, or the product's name, contains it), ``status`` ``"open"`` (still being
    worked on) and ``due`` ``"soon"`` (the next deadline is past or within ``DUE_SOON``)."""
    wanted = dict(filters or {})
    term = wanted.pop("q", "")
    due = wanted.pop("due", "")
    if wanted.get("status") == "open":
        wanted.pop("status")
        wanted["open"] = True
    qs = return_request_list(actor=actor, filters=wanted)
    if term:
        qs = qs.filter(
            Q(number__icontains=term)
            | Q(order__number__icontains=term)
            | Q(line__product_name__icontains=term)
        )
    next_due = (
        Deadline.objects.filter(
            subject_type=ReturnRequest._meta.label_lower,
            subject_id=OuterRef("pk"),
            state=Deadline.State.PENDING,
        )
        .exclude(kind__endswith=REMINDER_SUFFIX)
        .order_by("due_at")
        .values("due_at")[:1]
    )
    qs = qs.annotate(next_due_at=Subquery(next_due))
    if due == "soon":
        qs = qs.filter(next_due_at__lte=clock.now() + DUE_SOON)
    return qs.order_by(F("next_due_at").asc(nulls_last=True), "-id")


DUE_SOON = timedelta(days=3)


def merchant_waiting_counts(*, actor):
    """What waits for the merchant's staff (the workbench, issue 14), in one query: requests to
    review (R13 runs against them), arbitrations to answer (R21), parcels sent back and not yet
    confirmed (R20), and open requests whose next deadline is past or within ``DUE_SOON``."""
    status = ReturnRequest.Status
    unanswered = Q(status=status.ARBITRATION, arbitration__merchant_answered_at__isnull=True)
    queue = return_request_queue(actor=actor).order_by()
    return queue.aggregate(
        to_review=Count("pk", filter=Q(status=status.REQUESTED)),
        to_answer=Count("pk", filter=unanswered),
        to_receive=Count("pk", filter=Q(status=status.RETURN_SHIPPED)),
        due_soon=Count("pk", filter=Q(next_due_at__lte=clock.now() + DUE_SOON)),
    )


def requested_between(qs, start_day, end_day):
    """Requests made on calendar days ``start_day`` … ``end_day`` (inclusive, Shanghai)."""
    start = day_instant_or_none(start_day) if start_day else None
    end = day_instant_or_none(end_day, next_day=True) if end_day else None
    if start is not None:
        qs = qs.filter(requested_at__gte=start)
    if end is not None:
        qs = qs.filter(requested_at__lt=end)
    return qs


def return_request_detail_queryset(*, actor):
    """Requests with everything a detail page shows: evidence, refund parts and arbitration."""
    base = _base().select_related("return_address")
    return scoped(base, actor, grant_perm=RETURN_GRANT).prefetch_related(
        Prefetch("evidence", queryset=ReturnEvidence.objects.order_by("created_at", "id")),
        Prefetch(
            "refund__parts",
            queryset=RefundPart.objects.select_related("tender", "gateway_refund").order_by("id"),
        ),
        "ledger_entries",
    )


def return_request_get(*, actor, pk):
    """One request the actor may see, else ``NotFound``."""
    return access(return_request_detail_queryset(actor=actor), actor, pk, grant_perm=RETURN_GRANT)


def return_request_get_by_number(*, actor, number):
    """The request numbered ``number`` (``TH2026120100042``) if the actor may see it."""
    request = scoped(_base(), actor, grant_perm=RETURN_GRANT).filter(number=number).first()
    if request is None:
        raise NotFound()
    return request


def arbitration_of(request):
    """The request's arbitration or ``None``."""
    try:
        return request.arbitration
    except Arbitration.DoesNotExist:
        return None


def refund_of(request):
    """The request's refund or ``None`` (a request is refunded once)."""
    try:
        return request.refund
    except Refund.DoesNotExist:
        return None


@dataclass(frozen=True)
class PendingDeadline:
    """A deadline of a request as users see it: what happens, and when."""

    kind: str
    due_at: datetime
    description: str
    state: str
    deadline_id: int

    @property
    def due_display(self):
        return rules.display_instant(self.due_at)


def return_request_deadlines(request, *, include_reminders=False):
    """The request's pending deadlines, soonest first, each with its Chinese description
    (``aftersales.deadlines.engine.deadlines_for``)."""
    rows = deadlines_for(request, include_reminders=include_reminders)
    return [
        PendingDeadline(d.kind, d.due_at, deadline_description(d.kind), d.state, d.pk) for d in rows
    ]


@dataclass(frozen=True)
class LineOption:
    """One thing the consumer can (or cannot) ask for on a line now, and why
    (``rules.ReturnOption`` plus the request kinds it allows and the deciding date shown)."""

    kind: str
    available: bool
    rule: str
    code: str
    message: str
    decided_by: datetime | None
    decided_by_display: str
    min_quantity: int
    max_quantity: int
    instant: bool
    request_kinds: tuple
    reasons: tuple


OPTION_REQUESTS = {
    rules.REFUND_ONLY_UNSHIPPED: (("refund_only",), ("no_reason", "changed_mind")),
    rules.NO_REASON_RETURN: (
        ("return_refund", "refund_only"),
        ("no_reason", "changed_mind", "wrong_size"),
    ),
    rules.SPEC_EXCHANGE: (("spec_exchange", "exchange"), ("no_reason", "wrong_size")),
    rules.QUALITY_RETURN: (
        ("return_refund", "refund_only"),
        ("quality", "damaged", "not_as_described", "wrong_item", "missing_parts"),
    ),
    rules.QUALITY_EXCHANGE: (
        ("exchange", "spec_exchange"),
        ("quality", "damaged", "not_as_described", "wrong_item", "missing_parts"),
    ),
}
"""Which request kinds and reasons each option of ``rules.return_options`` opens."""


def line_return_options(*, actor, line):
    """What the consumer can do on ``line`` right now and why (standard 6.3.1; RULES.md R1–R4,
    R10, R11, R15, R18): every option, open or closed, with the rule, a stable code, the Chinese
    explanation naming the deciding date, and the request kinds/reasons it allows. ``line`` is an
    ``OrderLine`` or its id; outside the actor's scope → ``NotFound``."""
    line_id = getattr(line, "pk", line)
    qs = OrderLine.objects.select_related("order", "sku__product__category")
    line = access(
        qs,
        actor,
        line_id,
        merchant_field="order__merchant_id",
        consumer_field="order__consumer_id",
    )
    out = []
    for option in line_options(line, now=clock.now()):
        kinds, reasons = OPTION_REQUESTS[option.kind]
        out.append(
            LineOption(
                kind=option.kind,
                available=option.available,
                rule=option.rule,
                code=option.code,
                message=option.message,
                decided_by=option.decided_by,
                decided_by_display=rules.display_instant(option.decided_by)
                if option.decided_by
                else "",
                min_quantity=option.min_quantity,
                max_quantity=option.max_quantity,
                instant=option.instant,
                request_kinds=kinds,
                reasons=reasons,
            )
        )
    return out


def arbitration_queue(*, actor, filters=None):
    """Arbitrations for platform staff (all) and mediators (those granted), oldest open first,
    with the request, both parties and the evidence loaded. Merchants and consumers see their
    own cases' arbitrations."""
    filters = filters or {}
    requests = scoped(ReturnRequest.objects.all(), actor, grant_perm=RETURN_GRANT)
    qs = Arbitration.objects.filter(request__in=requests.values("pk")).select_related(
        "request__order", "request__line", "request__merchant", "request__consumer"
    )
    qs = qs.prefetch_related(
        Prefetch("request__evidence", queryset=ReturnEvidence.objects.order_by("created_at", "id")),
        "inspections",
    )
    status = filters.get("status")
    if status:
        qs = qs.filter(status=status)
    elif not filters.get("all"):
        qs = qs.exclude(status=Arbitration.Status.DECIDED)
    return qs.order_by("opened_at", "id")


def refund_list(*, actor, filters=None):
    """Refunds of the requests the actor may see, newest first, with their parts."""
    filters = filters or {}
    qs = Refund.objects.select_related("request").prefetch_related(
        Prefetch("parts", queryset=RefundPart.objects.select_related("tender").order_by("id"))
    )
    qs = scoped(qs, actor)
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("source"):
        qs = qs.filter(source=filters["source"])
    return qs.order_by("-id")


def merchant_queue(*, actor, filters=None):
    """The merchant's work queue: open requests with their nearest deadline first is up to the
    page; here the open requests, oldest first."""
    filters = {**(filters or {}), "open": True}
    return return_request_list(actor=actor, filters=filters).order_by("requested_at", "id")


def express_ledger_list(*, actor, filters=None):
    """Entries of the express-refund ledger (R12) of the requests the actor may see, newest
    first: the platform's advances, recoveries from merchants and clawbacks from consumers."""
    filters = filters or {}
    qs = scoped(ExpressRefundLedgerEntry.objects.select_related("request"), actor)
    if filters.get("kind"):
        qs = qs.filter(kind=filters["kind"])
    if filters.get("request"):
        qs = qs.filter(request_id=filters["request"])
    return qs.order_by("-occurred_at", "-id")


def return_address_list(*, actor, active=True):
    """The return addresses the actor may see (merchant staff and keys: their merchant's;
    platform roles: all), default first; only active ones unless ``active`` is ``None``."""
    qs = scoped(ReturnAddress.objects.all(), actor, consumer_field=None)
    if active is not None:
        qs = qs.filter(active=active)
    return qs.order_by("merchant_id", "-is_default", "warehouse", "id")


@dataclass(frozen=True)
class Trajectory:
    """One parcel of a case with its carrier scans, oldest first (``events``: dicts with
    ``kind``, ``label``, ``occurred_at``, ``location``, ``description``)."""

    title: str
    carrier: str
    tracking_number: str
    events: list


SCAN_LABELS = dict(TrackingEvent.Kind.choices)


def parcel_trajectories(request):
    """The carrier trajectories of a case's parcels, as dispute evidence (standard 6.2.3.2):
    the line's outbound parcel (and a replacement), then the return parcel, whose scans the
    carrier reported to the request (``return.parcel_scanned``). Three queries."""
    out = []
    shipments = (
        Shipment.objects.filter(line_id=request.line_id)
        .prefetch_related("events")
        .order_by("shipped_at", "pk")
    )
    titles = dict(Shipment.Purpose.choices)
    for shipment in shipments:
        events = [
            {
                "kind": e.kind,
                "label": SCAN_LABELS.get(e.kind, e.kind),
                "occurred_at": e.occurred_at,
                "location": e.location,
                "description": e.description,
            }
            for e in sorted(shipment.events.all(), key=lambda e: (e.occurred_at, e.pk))
        ]
        out.append(
            Trajectory(
                str(titles.get(shipment.purpose, shipment.purpose)),
                shipment.carrier,
                shipment.tracking_number,
                events,
            )
        )
    if request.return_tracking_number:
        scans = TimelineEvent.objects.filter(
            subject_type="returns.returnrequest",
            subject_id=request.pk,
            verb="return.parcel_scanned",
        ).order_by("occurred_at", "pk")
        events = []
        for scan in scans:
            data = scan.data or {}
            events.append(
                {
                    "kind": data.get("kind", ""),
                    "label": SCAN_LABELS.get(data.get("kind", ""), data.get("kind", "")),
                    "occurred_at": datetime.fromisoformat(data["occurred_at"])
                    if data.get("occurred_at")
                    else scan.occurred_at,
                    "location": data.get("location", ""),
                    "description": data.get("description", ""),
                }
            )
        events.sort(key=lambda e: e["occurred_at"])
        out.append(
            Trajectory(
                str(_("退货包裹")), request.return_carrier, request.return_tracking_number, events
            )
        )
    return out
