"""Who may read and change the repairs (三包) endpoints (``tests.matrix``).

The catalog is shared reference data: everyone signed in reads it, platform writers change it.
Warranty cards, repair orders and escalations belong to their merchant and consumer; repair
providers' staff see the repair orders assigned to them through django-guardian grants (the
matrix has no provider role: ``repairs/tests/test_api_provider.py`` checks them).
"""

from datetime import timedelta

from aftersales import clock
from aftersales.tenancy.actors import SYSTEM
from aftersales.tests.uploads import png_bytes
from repairs.models import (
    RepairOrder,
    RepairProvider,
    SanbaoCatalogChange,
    SanbaoCatalogEntry,
    WarrantyCard,
    WarrantyEscalation,
)
from tests.matrix import (
    CONSUMER_A,
    MERCHANT_A,
    NOBODY,
    PLATFORM_READ,
    PLATFORM_WRITE,
    SIGNED_IN,
    Read,
    Target,
    Write,
    register,
)

CATALOG_TOUCHES = (SanbaoCatalogEntry, SanbaoCatalogChange)


# -- the 三包 catalog -----------------------------------------------------------------------------
def _catalog_entry(w, side):
    entry, _ = SanbaoCatalogEntry.objects.get_or_create(
        code=f"matrix-{side.code}",
        defaults={"name": f"矩阵三包类目-{side.code}", "whole_unit_months": 12},
    )
    return Target(kwargs={"pk": entry.pk}, row=entry.pk)


register(
    "sanbao-catalog-entry-list",
    setup=_catalog_entry,
    get=Read(SIGNED_IN),
    post=Write(
        PLATFORM_WRITE,
        touches=CATALOG_TOUCHES,
        body={
            "code": "matrix-new",
            "name": "矩阵新类目",
            "whole_unit_months": 12,
            "main_parts": [{"name": "主板", "months": 24}],
            "daily_depreciation_rate": "0.100",
        },
    ),
)
register(
    "sanbao-catalog-entry-detail",
    setup=_catalog_entry,
    get=Read(SIGNED_IN),
    patch=Write(
        PLATFORM_WRITE,
        touches=CATALOG_TOUCHES,
        body={"daily_depreciation_rate": "0.050", "note": "矩阵"},
    ),
)
register("sanbao-catalog-entry-changes", setup=_catalog_entry, get=Read(PLATFORM_READ))


# -- shared set-ups ------------------------------------------------------------------------------
DAY = timedelta(days=1)
CASE_READ = CONSUMER_A | MERCHANT_A | PLATFORM_READ
CASE_WRITE = CONSUMER_A | MERCHANT_A | PLATFORM_WRITE  # the consumer, or on their behalf
CARD_KEEPERS = MERCHANT_A | PLATFORM_WRITE
# The repairer's steps: provider staff granted the repair (no matrix role), the merchant's own
# repair system through its API key, and platform writers recording for the provider.
REPAIRER = PLATFORM_WRITE | {"merchant_key_a"}
REPAIR_GRANT = "repairs.view_repairorder"


def _card(side, *, days_ago=20, install=False):
    from repairs.tests.factories import signed_card

    return signed_card(
        side.merchant, side.consumer, signed_at=clock.now() - days_ago * DAY, install=install
    )


def _provider(code="matrix", status="approved"):
    from repairs.services import provider_apply, provider_review, provider_suspend

    licence = f"MATRIX-{code}"
    provider = RepairProvider.objects.filter(licence_number=licence).first()
    if provider is None:
        provider = provider_apply(
            actor=SYSTEM, name=f"矩阵维修站 {code}", licence_number=licence, categories=["lcd_tv"]
        )
        if status != "applied":
            provider = provider_review(provider=provider, actor=SYSTEM, approve=True)
        if status == "suspended":
            provider = provider_suspend(provider=provider, actor=SYSTEM, reason="矩阵")
    return provider


def _repair(side, upto="requested"):
    """A repair of side's consumer moved through the steps up to ``upto``."""
    from repairs import services as s

    card = _card(side)
    at = clock.now() - 5 * DAY
    repair = s.repair_request(
        actor=SYSTEM, card=card, fault_description="无法开机", fault_reported_at=at
    )
    steps = ["assigned", "received", "diagnosing", "waiting_parts", "repairing", "fixed"]
    steps = steps[: steps.index(upto) + 1] if upto in steps else []
    if upto == "returned":
        steps = ["assigned", "received", "repairing", "fixed", "returned"]
    for step in steps:
        at += DAY / 2
        if step == "assigned":
            repair = s.repair_assign(
                repair=repair, provider=_provider(), actor=SYSTEM, occurred_at=at
            )
        elif step == "received":
            repair = s.repair_receive(repair=repair, actor=SYSTEM, occurred_at=at)
        elif step == "diagnosing":
            repair = s.repair_diagnose(
                repair=repair, actor=SYSTEM, diagnosis="主板故障", occurred_at=at
            )
        elif step == "waiting_parts":
            repair = s.repair_parts_wait_start(
                repair=repair, actor=SYSTEM, parts="主板", occurred_at=at
            )
        elif step == "repairing" and repair.status == "waiting_parts":
            repair = s.repair_parts_wait_end(repair=repair, actor=SYSTEM, occurred_at=at)
        elif step == "repairing":
            repair = s.repair_start(repair=repair, actor=SYSTEM, occurred_at=at)
        elif step == "fixed":
            repair = s.repair_finish(repair=repair, actor=SYSTEM, result="fixed", occurred_at=at)
        elif step == "returned":
            repair = s.repair_return_to_consumer(repair=repair, actor=SYSTEM, occurred_at=at)
    return repair


def _repair_target(upto):
    def setup(w, side):
        repair = _repair(side, upto)
        return Target(kwargs={"pk": repair.pk}, row=repair.pk, obj=repair)

    return setup


# -- warranty cards ------------------------------------------------------------------------------
def _card_target(w, side):
    card = _card(side)
    return Target(kwargs={"pk": card.pk}, row=card.pk)


def _unsigned_line(side):
    from repairs.tests.factories import sanbao_line

    return sanbao_line(side.merchant, side.consumer)


def _card_body(line):
    return {"order_line": line.pk, "signed_at": (clock.now() - DAY).isoformat()}


register(
    "warranty-card-list",
    setup=_card_target,
    get=Read(CASE_READ),
    post=Write(
        CARD_KEEPERS,
        touches=[WarrantyCard],
        body=lambda w, t: _card_body(_unsigned_line(w.a)),
        foreign_body=lambda w, t: _card_body(_unsigned_line(w.b)),
    ),
)
register("warranty-card-detail", setup=_card_target, get=Read(CASE_READ))
register("warranty-card-entitlements", setup=_card_target, get=Read(CASE_READ))


def _fresh_card_target(w, side):
    card = _card(side, days_ago=10)  # day 10: an exchange is open (G2)
    return Target(kwargs={"pk": card.pk}, row=card.pk)


register(
    "warranty-card-choose-remedy",
    setup=_fresh_card_target,
    visible=CASE_READ,
    post=Write(CASE_WRITE, touches=[WarrantyCard], body={"remedy": "exchange"}),
)
register(
    "warranty-card-refuse-alternative",
    setup=_card_target,
    visible=CASE_READ,
    post=Write(CASE_WRITE, touches=[WarrantyCard], body={"refused": True}),
)


def _installed_target(w, side):
    card = _card(side, days_ago=3, install=True)
    return Target(kwargs={"pk": card.pk}, row=card.pk)


register(
    "warranty-card-installed",
    setup=_installed_target,
    visible=CASE_READ,
    post=Write(
        CARD_KEEPERS,
        touches=[WarrantyCard],
        body=lambda w, t: {"installed_at": (clock.now() - DAY).isoformat()},
    ),
)


# -- repair providers ----------------------------------------------------------------------------
def _provider_target(status):
    def setup(w, side):
        provider = _provider(f"{status}-{side.code}", status=status)
        return Target(kwargs={"pk": provider.pk}, row=provider.pk)

    return setup


PROVIDER_TOUCHES = (RepairProvider,)
register(
    "repair-provider-list",
    setup=_provider_target("approved"),
    get=Read(SIGNED_IN),
    post=Write(
        PLATFORM_WRITE,
        touches=PROVIDER_TOUCHES,
        body={
            "name": "新维修站",
            "licence_number": "MATRIX-NEW",
            "categories": ["lcd_tv"],
            "regions": ["上海市"],
        },
    ),
)
register("repair-provider-detail", setup=_provider_target("approved"), get=Read(SIGNED_IN))
register(
    "repair-provider-approve",
    setup=_provider_target("applied"),
    visible=PLATFORM_READ,
    post=Write(PLATFORM_WRITE, touches=PROVIDER_TOUCHES, body={"reason": "资质齐全"}),
)
register(
    "repair-provider-reject",
    setup=_provider_target("applied"),
    visible=PLATFORM_READ,
    post=Write(PLATFORM_WRITE, touches=PROVIDER_TOUCHES, body={"reason": "执照过期"}),
)
register(
    "repair-provider-suspend",
    setup=_provider_target("approved"),
    visible=SIGNED_IN,
    post=Write(PLATFORM_WRITE, touches=PROVIDER_TOUCHES, body={"reason": "投诉较多"}),
)
register(
    "repair-provider-reinstate",
    setup=_provider_target("suspended"),
    visible=PLATFORM_READ,
    post=Write(PLATFORM_WRITE, touches=PROVIDER_TOUCHES, body={"reason": "整改完成"}),
)


# -- repair orders -------------------------------------------------------------------------------
def _requested_target(w, side):
    repair = _repair(side)
    spare = _card(side)
    return Target(kwargs={"pk": repair.pk}, row=repair.pk, obj=repair, extra={"card": spare.pk})


register(
    "repair-order-list",
    grant=REPAIR_GRANT,
    setup=_requested_target,
    get=Read(CASE_READ),
    post=Write(
        CASE_WRITE,
        touches=[RepairOrder],
        body=lambda w, t: {"card": t.extra["card"], "fault_description": "屏幕闪烁"},
        foreign_body=lambda w, t: {"card": _card(w.b).pk, "fault_description": "屏幕闪烁"},
    ),
)
register(
    "repair-order-detail",
    grant=REPAIR_GRANT,
    setup=_repair_target("requested"),
    get=Read(CASE_READ),
)


def _evidence_target(w, side):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from repairs import services as s

    photo = SimpleUploadedFile("matrix.png", png_bytes(), content_type="image/png")
    repair = s.repair_request(
        actor=SYSTEM, card=_card(side), fault_description="无法开机", evidence=[photo]
    )
    item = repair.evidence.get()
    return Target(kwargs={"pk": repair.pk, "evidence_pk": item.pk}, obj=repair)


register(
    "repair-order-evidence-file",
    grant=REPAIR_GRANT,
    setup=_evidence_target,
    get=Read(CASE_READ),
)
register(
    "repair-order-assign",
    setup=_repair_target("requested"),
    visible=CASE_READ,
    post=Write(
        MERCHANT_A | PLATFORM_WRITE,
        touches=[RepairOrder],
        body=lambda w, t: {"provider": _provider().pk},
    ),
)


def _step(name, upto, body):
    register(
        f"repair-order-{name}",
        setup=_repair_target(upto),
        visible=CASE_READ,
        post=Write(
            REPAIRER,
            touches=[RepairOrder],
            body=body if callable(body) else (lambda w, t, body=body: body),
        ),
    )


def _recent(w=None, t=None):
    return (clock.now() - timedelta(hours=1)).isoformat()


_step("receive", "assigned", lambda w, t: {"occurred_at": _recent()})
_step("diagnose", "received", {"diagnosis": "电源板损坏"})
_step("parts-wait-start", "diagnosing", {"parts": "电源板"})
_step("parts-wait-end", "waiting_parts", {})
_step("start", "diagnosing", {})
_step(
    "finish",
    "repairing",
    {"result": "fixed", "parts_replaced": [{"name": "电源板", "quantity": 1}], "labour_fee": "0"},
)
_step("return", "fixed", {})
register(
    "repair-order-fault-reoccurred",
    setup=_repair_target("returned"),
    visible=CASE_READ,
    post=Write(CASE_WRITE, touches=[RepairOrder], body={"fault_description": "又无法开机"}),
)
register(
    "repair-order-cancel",
    setup=_repair_target("requested"),
    visible=CASE_READ,
    post=Write(CASE_WRITE, touches=[RepairOrder], body={"reason": "已自行解决"}),
)
register(
    "repair-order-close",
    setup=_repair_target("returned"),
    visible=CASE_READ,
    post=Write(CASE_WRITE, touches=[RepairOrder], body={"reason": "确认已修好"}),
)
# Only the assigned provider's staff (no matrix role) may reveal the consumer's contact of an
# on-site repair; every matrix role gets 404, like ``pii_reveal`` (repairs/tests/
# test_provider_reveal.py checks the provider).
register(
    "repair-order-reveal-contact",
    setup=_repair_target("assigned"),
    visible=NOBODY,
    post=Write(NOBODY, touches=["aftersales.PiiAccessLog"], body={"reason": "上门维修"}),
)


# -- escalations ---------------------------------------------------------------------------------
def _escalation_target(w, side):
    repair = _repair(side, "received")
    escalation = WarrantyEscalation.objects.create(
        card=repair.card,
        repair=repair,
        merchant=side.merchant,
        consumer=side.consumer,
        rule="G6",
        granted_remedies=["exchange", "return"],
        cost_borne_by="repairer",
        explanation="矩阵：修理者责任时间超过 30 日",
    )
    return Target(kwargs={"pk": escalation.pk}, row=escalation.pk)


register("warranty-escalation-list", setup=_escalation_target, get=Read(CASE_READ))
register("warranty-escalation-detail", setup=_escalation_target, get=Read(CASE_READ))
register(
    "warranty-escalation-resolve",
    setup=_escalation_target,
    visible=CASE_READ,
    post=Write(
        PLATFORM_WRITE,
        touches=[WarrantyEscalation],
        body={"resolution": "repair", "note": "消费者同意继续维修"},
    ),
)
