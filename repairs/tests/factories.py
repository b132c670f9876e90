"""Factories of the repairs app: catalog entries (ORM) and card facts (pure rules)."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import factory

from repairs import rules
from repairs.models import SanbaoCatalogEntry
from repairs.seed import CATALOG_SEED

SHANGHAI = ZoneInfo("Asia/Shanghai")


class CatalogEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SanbaoCatalogEntry
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"cat{n}")
    name = factory.Sequence(lambda n: f"三包类目{n}")
    whole_unit_months = 12
    main_parts = factory.LazyFunction(lambda: [{"name": "主板", "months": 24}])
    daily_depreciation_rate = Decimal("0.100")
    parts_shortage_limit_days = 90


def sh(year, month, day, hour=12, minute=0, second=0, microsecond=0):
    """An aware Shanghai instant."""
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=SHANGHAI)


def seed_facts(code):
    """``CatalogFacts`` of a RULES.md seed row, without the database."""
    row = next(r for r in CATALOG_SEED if r["code"] == code)
    return rules.CatalogFacts(
        code=code,
        whole_unit_months=row["whole_unit_months"],
        parts=tuple(rules.PartPeriod(p["name"], p["months"]) for p in row["main_parts"]),
        daily_rate=row["daily_depreciation_rate"],
        parts_limit_days=row["parts_shortage_limit_days"],
    )


def card(start_at=None, code="lcd_tv", **kwargs):
    """A ``CardFacts`` for a seed category (LCD TV unless told), signed 2026-11-21 00:30."""
    kwargs.setdefault("price", Decimal("3000.00"))
    return rules.CardFacts(
        start_at=start_at or sh(2026, 11, 21, 0, 30),
        catalog=kwargs.pop("catalog", None) or seed_facts(code),
        **kwargs,
    )


# -- ORM helpers for the service tests ----------------------------------------------------------


def sanbao_line(merchant, consumer, *, code="lcd_tv", price="3000.00", quantity=1, install=False):
    """A paid order line of a 三包 category (seed catalog ``code``)."""
    from orders.tests.factories import CategoryFactory, paid_order

    category = CategoryFactory(
        code=f"sanbao-{code}-{'i' if install else 'n'}",
        name=f"三包 {code}",
        sanbao_code=code,
        needs_installation=install,
    )
    order = paid_order(merchant, consumer, prices=(price,), quantity=quantity, category=category)
    return order.lines.get()


def signed_card(merchant, consumer, *, signed_at, code="lcd_tv", price="3000.00", **kwargs):
    """The warranty card of a unit signed for at ``signed_at`` (the clock must be past it)."""
    from aftersales.tenancy.actors import SYSTEM
    from repairs.services import warranty_card_create

    line = sanbao_line(merchant, consumer, code=code, price=price, **kwargs)
    return warranty_card_create(line=line, actor=SYSTEM, signed_at=signed_at)[0]


def provider_with_staff(*, codes=("lcd_tv",), regions=(), staff=("tech-1",), name=None):
    """An approved provider of ``codes`` with technicians ``staff`` (usernames)."""
    from aftersales.tenancy.actors import SYSTEM
    from aftersales.tests.factories import UserFactory
    from repairs.services import provider_apply, provider_member_add, provider_review

    users = [UserFactory(username=u) for u in staff]
    provider = provider_apply(
        actor=SYSTEM,
        name=name or f"维修站 {'/'.join(staff)}",
        licence_number=f"LIC-{'-'.join(staff)}",
        categories=list(codes),
        regions=list(regions),
    )
    provider_review(provider=provider, actor=SYSTEM, approve=True, note="资质齐全")
    for user in users:
        provider_member_add(provider=provider, user=user, actor=SYSTEM)
    provider.refresh_from_db()
    return provider, users


def at(when):
    """Freeze the clock at ``when`` (a Shanghai instant from ``sh``)."""
    import time_machine

    return time_machine.travel(when, tick=False)


def received_repair(card, provider, tech, *, reported_at, received_at, fault="开机黑屏"):
    """A repair of ``card`` requested by its consumer at ``reported_at``, assigned to
    ``provider`` and received (送修) by its technician ``tech`` at ``received_at``."""
    from aftersales.tenancy.actors import SYSTEM, actor_for_user
    from repairs import services

    with at(reported_at):
        repair = services.repair_request(
            actor=actor_for_user(card.consumer.user), card=card, fault_description=fault
        )
        repair = services.repair_assign(repair=repair, provider=provider, actor=SYSTEM)
    with at(received_at):
        return services.repair_receive(
            repair=repair, actor=actor_for_user(tech), occurred_at=received_at
        )


def finished_repair(card, provider, tech, *, received_at, finished_at, result="fixed"):
    """A repair received at ``received_at`` and finished (and returned) at ``finished_at``."""
    from aftersales.tenancy.actors import actor_for_user
    from repairs import services

    repair = received_repair(card, provider, tech, reported_at=received_at, received_at=received_at)
    with at(finished_at):
        repair = services.repair_finish(repair=repair, actor=actor_for_user(tech), result=result)
        return services.repair_return_to_consumer(repair=repair, actor=actor_for_user(tech))
