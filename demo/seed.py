"""Demo data, so that every page has something real to show on a fresh machine.

``seed_all`` creates a ``DemoContext`` and calls ``seed(ctx)`` of every module of ``MODULES``
(the kernel's rows, then each app's, in the order the apps depend on each other), all in one
transaction. A module reads what the modules before it left in ``ctx.data`` (``merchants``,
``consumers``, ``orders``…) and adds its own rows. The domain apps know nothing of the demo.

Demo rows are loaded in bulk, like a data import from the shop's systems, not through the
services: 500 orders through the services would take minutes on SQLite. Everything is
deterministic (a seeded ``random.Random``); dates are relative to ``clock.now()``.

Every demo login shares one password (``DEMO_PASSWORD``), printed by ``manage.py serve``.
"""

import json
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils.translation import gettext as _

from aftersales import clock
from aftersales.casefile.timeline import timeline_record
from aftersales.tenancy.actors import SYSTEM
from aftersales.tenancy.auth import api_key_lookup
from aftersales.tenancy.models import ApiKey, Merchant, MerchantMember, User
from aftersales.tenancy.services import api_key_create, api_key_revoke

from . import kernel, orders, repairs, returns
from .kernel import MERCHANTS, PLATFORM_STAFF

DEMO_PASSWORD = "demo1234"
SEED = 20261128

# Each module's ``seed(ctx)``, in this order: a module reads what the ones before it left.
MODULES = (kernel, orders, returns, repairs)


@dataclass
class DemoContext:
    """What the demo modules share: the random source, the time, the logins and the rows."""

    rng: random.Random
    now: datetime
    password_hash: str
    out: object = sys.stdout
    data: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)

    def log(self, message):
        self.out.write(message + "\n")

    def count(self, name, n):
        self.counts[name] = self.counts.get(name, 0) + n


def is_loaded():
    """Whether the demo merchants exist (the demo is loaded once per database)."""
    return Merchant.objects.filter(code__in=[code for code, _n, _c in MERCHANTS]).exists()


def seed_all(*, out=sys.stdout, seed=SEED):
    """Load the demo data of every app in one transaction; returns the context (with counts)."""
    ctx = DemoContext(
        rng=random.Random(seed),
        now=clock.now(),
        password_hash=make_password(DEMO_PASSWORD),
        out=out,
    )
    with transaction.atomic():
        for module in MODULES:
            started = time.monotonic()
            module.seed(ctx)
            ctx.log(f"  {module.__name__}: {time.monotonic() - started:.1f}s")
        timeline_record(
            subject=ctx.data["merchants"][0],
            verb="demo.seeded",
            actor=SYSTEM,
            data={"counts": ctx.counts},
        )
    return ctx


# -- logins and keys printed by ``manage.py serve`` ------------------------------------------


def demo_logins():
    """``[(role label, username)]`` of every demo login that exists, for the serve banner."""
    rows = [(_(label), username) for username, _g, label in PLATFORM_STAFF]
    members = (
        MerchantMember.objects.filter(merchant__code__in=[m[0] for m in MERCHANTS])
        .select_related("merchant", "user")
        .order_by("merchant_id", "-role")  # owner, then agent
    )
    for member in members:
        role = _("店主") if member.role == MerchantMember.Role.OWNER else _("客服")
        rows.append(
            (
                _("%(merchant)s %(role)s") % {"merchant": member.merchant.name, "role": role},
                member.user.username,
            )
        )
    consumers = list(
        User.objects.filter(username__startswith="consumer", consumer__isnull=False)
        .order_by("username")
        .values_list("username", flat=True)
    )
    if consumers:
        rows.append((_("消费者"), consumers[0]))
    if len(consumers) > 1:
        rows.append((_("消费者（…… %(last)s）") % {"last": consumers[-1]}, consumers[1]))
    existing = set(
        User.objects.filter(username__in=[u for _l, u in rows]).values_list("username", flat=True)
    )
    return [(label, username) for label, username in rows if username in existing]


def demo_api_keys():
    """A platform-scoped and a merchant-scoped demo key: ``[(label, raw key)]``.

    Raw keys are never stored in the database, so the ones issued for the demo are kept in
    ``var/demo_api_keys.json`` (development only) and reissued if they no longer work.
    """
    path = settings.VAR_DIR / "demo_api_keys.json"
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        saved = {}
    merchant = Merchant.objects.filter(code=MERCHANTS[0][0]).first()
    # The keys' names are data, kept as the demo made them (old keys are found by name).
    wanted = [("platform", "演示平台密钥 demo platform key", None)]  # i18n-exempt: demo data
    if merchant is not None:
        name = f"演示商家密钥 demo key of {merchant.code}"  # i18n-exempt: demo data
        wanted.append(("merchant", name, merchant))
    result = []
    for scope, name, scope_merchant in wanted:
        raw = saved.get(scope)
        key = api_key_lookup(raw) if raw else None
        if (
            key is None
            or not key.is_active
            or key.merchant_id != getattr(scope_merchant, "pk", None)
        ):
            for old in ApiKey.objects.filter(name=name, revoked_at__isnull=True):
                api_key_revoke(api_key=old, actor=SYSTEM, reason="demo key reissued")
            _key, raw = api_key_create(
                name=name, scope=scope, merchant=scope_merchant, actor=SYSTEM
            )
            saved[scope] = raw
        label = (
            _("平台范围")
            if scope == "platform"
            else _("商家范围（%(merchant)s）") % {"merchant": merchant.name}
        )
        result.append((label, raw))
    path.write_text(json.dumps(saved, indent=2))
    path.chmod(0o600)
    return result
