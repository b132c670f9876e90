"""Reads of the repairs app, scoped to the caller (ARCHITECTURE.md "Tenancy and permissions").

- consumers see their own cards, repairs and escalations; merchant staff their merchant's;
  platform staff (and platform keys) everything;
- repair-provider staff (``Actor.is_provider``) see exactly the repair orders granted to them
  with django-guardian (``repairs.view_repairorder``, given on assignment) and the cards of
  those repairs; nothing else. Outside the scope: ``NotFound`` (404), never 403.

``card_facts`` is the one place that turns a card's rows into the entitlement engine's
``rules.CardFacts``; ``card_entitlements`` is the one answer every page, the admin and the API
show ("why can I only repair?").
"""

from decimal import Decimal

from django.db.models import Prefetch, Q

from aftersales import clock
from aftersales.errors import NotFound
from aftersales.tenancy.actors import Actor
from aftersales.tenancy.scope import access, scoped
from orders.models import Sku
from returns import rules as returns_rules
from returns.models import ReturnRequest
from returns.services import line_held_quantities

from . import rules
from .models import (
    PartsWait,
    RepairEvidence,
    RepairOrder,
    RepairProvider,
    RepairProviderMember,
    WarrantyCard,
    WarrantyEscalation,
    catalog_facts,
)

REPAIR_GRANT = "repairs.view_repairorder"
PROVIDER_KIND = "provider"
# A fault of the card's current repair that makes it paid (G11) without marking the unit.
FAULT_G11 = ("misuse", "force_majeure")


# -- the card's units in the returns flow ---------------------------------------------------------


def card_line_units(card):
    """``(free_units, requests)`` of the card's order line: the units no return, exchange or
    refund request holds (open or completed, RULES.md R15) and the line's requests that are
    still open, oldest first. A 三包 exchange or return needs a free unit: with none, the
    consumer's open request is where the line's units already are."""
    line = card.order_line
    open_units, completed, _amount = line_held_quantities(line)
    free = returns_rules.refundable_quantity(line.quantity, open_units, completed)
    requests = list(
        ReturnRequest.objects.filter(
            line_id=line.pk, status__in=sorted(returns_rules.OPEN_STATUSES)
        ).order_by("pk")
    )
    return free, requests


# -- actors ---------------------------------------------------------------------------------------


def provider_actor(user):
    """The actor of a repair provider's staff member (registered with
    ``aftersales.tenancy.actors.actor_role_register`` in ``RepairsConfig.ready``), else ``None``."""
    member = (
        RepairProviderMember.objects.filter(user_id=user.pk).values_list("provider_id", flat=True)
    ).first()
    if member is None:
        return None
    return Actor(kind=PROVIDER_KIND, user=user, provider_id=member)


def provider_for_user(user):
    """The provider ``user`` works for, or ``None``."""
    member = RepairProviderMember.objects.select_related("provider").filter(user_id=user.pk).first()
    return member.provider if member else None


# -- entitlement facts ----------------------------------------------------------------------------


def _catalog(card):
    """CatalogFacts of the version in force at sale; the live entry's daily rate while that
    version did not know one (G8 computes once staff set it)."""
    entry = card.catalog_entry
    snap = card.catalog_change.snapshot if card.catalog_change_id else None
    if not snap:
        return catalog_facts(entry)
    rate = snap.get("daily_depreciation_rate")
    rate = Decimal(rate) if rate is not None else entry.daily_depreciation_rate
    return rules.CatalogFacts(
        code=snap.get("code", entry.code),
        whole_unit_months=int(snap["whole_unit_months"]),
        parts=tuple(rules.PartPeriod(p["name"], int(p["months"])) for p in snap["main_parts"]),
        daily_rate=rate,
        parts_limit_days=int(snap.get("parts_shortage_limit_days") or 90),
    )


REPAIR_FACT_FIELDS = (
    "card_id",
    "status",
    "received_at",
    "finished_at",
    "closed_at",
    "cancelled_at",
    "parts_wait_days",
    "parts_wait_since",
    "result",
    "is_paid",
    "paid_reason",
)


def _loaded_for_facts(card):
    """``card`` came with its catalog entry, catalog version and SKU (``warranty_card_get``)."""
    if not isinstance(card, WarrantyCard) or card.get_deferred_fields():
        return False
    cached = {
        name: WarrantyCard._meta.get_field(name).is_cached(card)
        for name in ("catalog_entry", "sku", "catalog_change")
    }
    return (
        cached["catalog_entry"]
        and cached["sku"]
        and (card.catalog_change_id is None or cached["catalog_change"])
    )


def _facts_card(card):
    return (
        WarrantyCard.objects.select_related("catalog_entry", "catalog_change", "sku")
        .only(
            "id",
            "root_id",
            "status",
            "starts_at",
            "signed_at",
            "unit_price",
            "misuse_reasons",
            "alternative_refused",
            "catalog_entry__code",
            "catalog_entry__whole_unit_months",
            "catalog_entry__main_parts",
            "catalog_entry__daily_depreciation_rate",
            "catalog_entry__parts_shortage_limit_days",
            "catalog_change__snapshot",
            "sku__stock",
        )
        .get(pk=card.pk)
    )


def card_facts(card):
    """``rules.CardFacts`` of ``card`` — its chain's start (sign-off or installation, G9), the
    exchanges (G10), every repair received (days in repair and waiting for parts, results, G12
    reopenings), G11 findings, the price paid, the same model's stock (G7) — in two queries for
    a card never exchanged (card with catalog and stock; its repairs), at most three after an
    exchange (card; chain; the chain's repairs).

    A card awaiting installation counts from sign-off until installation is recorded. A card
    loaded with its catalog entry, catalog version and SKU (``warranty_card_get``) is used as it
    is, its repairs read in one query.
    """
    own_repairs = None
    if _loaded_for_facts(card):
        pass
    else:
        card = _facts_card(card)
    if card.root_id is None and card.status != WarrantyCard.Status.EXCHANGED:
        chain = [(card.pk, card.starts_at, card.signed_at, False)]
    else:
        own_repairs = None  # the chain's repairs are read below
        root = card.chain_root_id
        chain = list(
            WarrantyCard.objects.filter(Q(pk=root) | Q(root_id=root))
            .order_by("id")
            .values_list("id", "starts_at", "signed_at", "replaces_id")
        )
    start_at, exchanges = _chain_facts(chain, card.pk)
    if own_repairs is None:
        own_repairs = (
            RepairOrder.objects.filter(
                card_id__in=[row[0] for row in chain], received_at__isnull=False
            )
            .order_by("received_at", "id")
            .values_list(*REPAIR_FACT_FIELDS)
        )
    repairs, misuse = [], set(card.misuse_reasons or [])
    open_statuses = RepairOrder.OPEN_STATUSES
    for row in own_repairs:
        repairs.append(_repair_facts(row))
        card_id, status, why = row[0], row[1], row[-1]
        if card_id == card.pk and status in open_statuses and why in FAULT_G11:
            misuse.add(why)
    return rules.CardFacts(
        start_at=start_at,
        catalog=_catalog(card),
        repairs=tuple(repairs),
        exchanges=exchanges,
        misuse=frozenset(misuse),
        same_model_available=card.sku.stock > 0,
        alternative_refused=card.alternative_refused,
        price=card.unit_price,
    )


def _chain_facts(chain, card_id):
    """The start (sign-off or installation, G9) and the exchanges (G10) of card ``card_id``
    from its chain's rows ``(id, starts_at, signed_at, replaces_id)``: the chain counts from its
    first card; the exchanges are those up to this card's own."""
    root_row = next(row for row in chain if not row[3])
    mine = next(row for row in chain if row[0] == card_id)
    exchanges = tuple(
        rules.ExchangeFacts(at=row[1])
        for row in chain
        if row[3] and row[1] is not None and (mine[1] is None or row[1] <= mine[1])
    )
    return root_row[1] or root_row[2], exchanges


def _repair_facts(row):
    """``rules.RepairFacts`` of a repair row of ``REPAIR_FACT_FIELDS``."""
    _card, _status, received, finished, closed, cancelled, waited, since, result, paid, _why = row
    return rules.RepairFacts(
        received_at=received,
        finished_at=finished or closed or cancelled,
        parts_wait_days=waited,
        parts_wait_since=since,
        fixed=None if not result else result == "fixed",
        paid=paid,
    )


def alternative_skus(card):
    """The other models and specs of the card's product in stock: what the consumer may take
    when the same model and spec is unavailable (G7)."""
    return (
        Sku.objects.filter(product_id=card.product_id, stock__gt=0)
        .exclude(pk=card.sku_id)
        .order_by("pk")
    )


def card_coverage_facts(cards):
    """``{card id: rules.CardFacts}`` of a page of cards, enough for ``rules.warranty_ends``
    (the chain's start and exchanges, every repair received on the chain, the catalog in force
    at sale), in two queries whatever the page's size; the cards come with their catalog entry
    and version loaded. ``card_facts`` gives one card's whole facts."""
    exchanged = WarrantyCard.Status.EXCHANGED
    roots = {c.chain_root_id for c in cards if c.root_id or c.status == exchanged}
    chains = {}
    if roots:
        for pk, root_id, starts_at, signed_at, replaces_id in (
            WarrantyCard.objects.filter(Q(pk__in=roots) | Q(root_id__in=roots))
            .order_by("id")
            .values_list("id", "root_id", "starts_at", "signed_at", "replaces_id")
        ):
            chains.setdefault(root_id or pk, []).append((pk, starts_at, signed_at, replaces_id))
    members = {
        c.pk: chains.get(c.chain_root_id, [(c.pk, c.starts_at, c.signed_at, None)]) for c in cards
    }
    received = {}
    for row in (
        RepairOrder.objects.filter(
            card_id__in={row[0] for chain in members.values() for row in chain},
            received_at__isnull=False,
        )
        .order_by("received_at", "id")
        .values_list(*REPAIR_FACT_FIELDS)
    ):
        received.setdefault(row[0], []).append(_repair_facts(row))
    facts = {}
    for card in cards:
        chain = members[card.pk]
        start_at, exchanges = _chain_facts(chain, card.pk)
        facts[card.pk] = rules.CardFacts(
            start_at=start_at,
            catalog=_catalog(card),
            repairs=tuple(r for row in chain for r in received.get(row[0], ())),
            exchanges=exchanges,
        )
    return facts


def card_entitlements(*, card, at=None):
    """The remedies open on ``card`` at ``at`` (default now) with the rule granting each and
    the dates deciding it (``repairs.rules.entitlements``): the same answer for the consumer's
    page, the merchant portal, the admin and the API."""
    return rules.entitlements(card_facts(card), at or clock.now())


# -- warranty cards -------------------------------------------------------------------------------


def _scope_cards(qs, actor):
    if actor.is_provider:
        return qs.filter(pk__in=repair_order_list(actor=actor).values("card_id"))
    return scoped(qs, actor)


def warranty_card_list(*, actor, filters=None):
    """Cards the actor may see, newest first. ``filters``: ``status``, ``order_line``,
    ``consumer`` / ``merchant`` (platform), ``q`` (card number, serial number or product)."""
    filters = filters or {}
    qs = WarrantyCard.objects.select_related("catalog_entry", "merchant", "consumer")
    qs = _scope_cards(qs, actor)
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("order_line"):
        qs = qs.filter(order_line_id=filters["order_line"])
    if filters.get("q"):
        term = filters["q"]
        qs = qs.filter(
            Q(number__icontains=term)
            | Q(serial_number__icontains=term)
            | Q(product_name__icontains=term)
        )
    if actor.platform_read:
        for key in ("merchant", "consumer"):
            if filters.get(key):
                qs = qs.filter(**{f"{key}_id": filters[key]})
    return qs.order_by("-id")


def warranty_card_get(*, actor, pk):
    """One card (with its catalog entry and the repairs the actor may see); 404 outside."""
    qs = WarrantyCard.objects.select_related(
        "catalog_entry",
        "catalog_change",
        "sku",
        "merchant",
        "consumer",
        "order_line__order",
        "replaces",
    )
    try:
        return _scope_cards(qs, actor).get(pk=pk)
    except (WarrantyCard.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


# -- repair orders --------------------------------------------------------------------------------


def repair_order_list(*, actor, filters=None):
    """Repair orders the actor may see, newest first. Provider staff: exactly those granted to
    them. ``filters``: ``status`` (one or a list), ``open`` (bool), ``card``, ``provider``,
    ``number``, ``merchant`` (platform)."""
    filters = filters or {}
    qs = RepairOrder.objects.select_related("card", "provider", "merchant", "consumer")
    qs = scoped(qs, actor, grant_perm=REPAIR_GRANT)
    status = filters.get("status")
    if status:
        qs = qs.filter(status__in=status if isinstance(status, list | tuple) else [status])
    if filters.get("open") is True:
        qs = qs.filter(status__in=RepairOrder.OPEN_STATUSES)
    elif filters.get("open") is False:
        qs = qs.exclude(status__in=RepairOrder.OPEN_STATUSES)
    for key in ("card", "provider"):
        if filters.get(key):
            qs = qs.filter(**{f"{key}_id": filters[key]})
    if filters.get("number"):
        qs = qs.filter(number=filters["number"])
    if filters.get("merchant") and actor.platform_read:
        qs = qs.filter(merchant_id=filters["merchant"])
    return qs.order_by("-id")


def repair_order_get(*, actor, pk):
    """One repair order with its parts waits and evidence; 404 outside the actor's scope."""
    qs = RepairOrder.objects.select_related(
        "card__catalog_entry",
        "provider",
        "merchant",
        "consumer",
        "order_line__order",
        "reopened_from",
    ).prefetch_related(
        Prefetch("parts_waits", queryset=PartsWait.objects.order_by("started_at", "id")),
        Prefetch("evidence", queryset=RepairEvidence.objects.order_by("uploaded_at", "id")),
    )
    return access(qs, actor, pk, grant_perm=REPAIR_GRANT)


def evidence_of(repair, evidence_pk):
    """One evidence item of a repair the caller may see (``repair_order_get``), or ``None``."""
    return next((e for e in repair.evidence.all() if str(e.pk) == str(evidence_pk)), None)


# -- providers ------------------------------------------------------------------------------------


def provider_list(*, actor, filters=None):
    """Providers: platform staff see all; provider staff their own; merchants and consumers the
    admitted ones. ``filters``: ``status``, ``category`` (catalog code), ``region``."""
    filters = filters or {}
    qs = RepairProvider.objects.prefetch_related("categories")
    if actor.platform_read:
        pass
    elif actor.is_provider:
        qs = qs.filter(pk=actor.provider_id)
    elif actor.is_authenticated:
        qs = qs.filter(status=RepairProvider.Status.APPROVED)
    else:
        qs = qs.none()
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("category"):
        qs = qs.filter(categories__code=filters["category"])
    if filters.get("region"):
        qs = qs.filter(Q(regions__contains=[filters["region"]]) | Q(regions=[]))
    return qs.order_by("id").distinct()


def provider_get(*, actor, pk):
    try:
        return provider_list(actor=actor).get(pk=pk)
    except (RepairProvider.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


# -- escalations ----------------------------------------------------------------------------------


def escalation_queue(*, actor, filters=None):
    """The platform's escalation queue (G4, G5, G6): open cases oldest first, then resolved ones
    newest first. Consumers and merchants see their own; provider staff none.
    ``filters``: ``status``, ``rule``, ``merchant`` (platform)."""
    filters = filters or {}
    qs = WarrantyEscalation.objects.select_related("card", "repair", "merchant", "consumer")
    qs = scoped(qs, actor)
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("rule"):
        qs = qs.filter(rule=filters["rule"])
    if filters.get("merchant") and actor.platform_read:
        qs = qs.filter(merchant_id=filters["merchant"])
    return qs.order_by("status", "raised_at", "id")


def escalation_get(*, actor, pk):
    return access(
        WarrantyEscalation.objects.select_related("card", "repair", "merchant", "consumer"),
        actor,
        pk,
    )
