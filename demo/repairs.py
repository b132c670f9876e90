"""Demo rows of the repairs app (``manage.py seed_demo``).

- Warranty cards for every signed 三包 line of the orders demo (bulk, like a data import: the
  orders demo loads its sign-offs in bulk too, so the ``shipment.signed`` subscriber did not
  run). Goods that need installation were installed one or two days after sign-off.
- Repair providers through the services: two admitted (home appliances; phones and computers),
  one waiting for review, one suspended — each with staff logins (``repair-*``, the demo
  password).
- Repair orders through the services, so timelines, grants, deadlines and notifications are
  real: requested, assigned, received, waiting for parts, repaired and returned, paid under
  G11, reopened under G12 (a fault within 30 days), a third fault opening a G4 escalation, and
  one received 35 days ago and still being repaired: its G6 limit is past, so the first
  deadline sweep (beat, or ``manage.py run_deadlines``) grants the free exchange and puts it in
  the escalation queue.
"""

from datetime import timedelta

from django.db import transaction

from aftersales.errors import DomainError
from aftersales.tenancy.actors import SYSTEM, actor_for_user
from aftersales.tenancy.models import User
from orders.models import Shipment
from repairs import services
from repairs.models import SanbaoCatalogChange, SanbaoCatalogEntry, WarrantyCard

# (username, provider key, role)
PROVIDER_STAFF = [
    ("repair-home", "home", "owner"),
    ("repair-home2", "home", "technician"),
    ("repair-mobile", "mobile", "owner"),
    ("repair-new", "new", "owner"),
    ("repair-paused", "paused", "owner"),
]
ADDRESS = "上海市徐汇区漕溪北路 {} 号 {}服务网点"  # i18n-exempt: demo data
PROVIDERS = {
    "home": (
        "申城家电维修中心",  # i18n-exempt: demo data
        "91310000DEMO0001",
        ["lcd_tv", "crt_tv", "home_av", "video_recorder"],
    ),
    "mobile": (
        "极客手机电脑快修",  # i18n-exempt: demo data
        "91330100DEMO0002",
        ["mobile_phone", "microcomputer"],
    ),
    "new": ("新开家电服务站", "91440300DEMO0003", ["lcd_tv", "bicycle"]),  # i18n-exempt: demo data
    "paused": (
        "暂停中维修站",  # i18n-exempt: demo data
        "91510100DEMO0004",
        ["lcd_tv", "mobile_phone"],
    ),
}


def seed(ctx):
    cards = _seed_cards(ctx)
    providers, staff = _seed_providers(ctx)
    _seed_repairs(ctx, cards, providers, staff)
    ctx.data["warranty_cards"] = cards
    ctx.data["repair_providers"] = providers


def _seed_cards(ctx):
    orders = [o.pk for o in ctx.data.get("orders", [])]
    entries = {e.code: e for e in SanbaoCatalogEntry.objects.all()}
    changes = {
        c.entry_id: c
        for c in SanbaoCatalogChange.objects.filter(entry__in=entries.values()).order_by("version")
    }
    shipments = (
        Shipment.objects.filter(
            order_id__in=orders,
            purpose=Shipment.Purpose.OUTBOUND,
            signed_at__isnull=False,
            line__sku__product__category__sanbao_code__in=list(entries),
        )
        .select_related("line__sku__product__category", "order")
        .order_by("signed_at", "pk")
    )
    rows = []
    for shipment in shipments:
        line, category = shipment.line, shipment.line.sku.product.category
        entry = entries[category.sanbao_code]
        installed = None
        if category.needs_installation:
            installed = shipment.signed_at + timedelta(days=ctx.rng.choice([1, 2]), hours=3)
            installed = installed if installed < ctx.now - timedelta(hours=1) else None
        for unit in range(1, line.quantity + 1):
            rows.append(
                WarrantyCard(
                    number=f"WC{shipment.signed_at:%Y%m%d}{line.pk:06d}{unit:02d}",
                    order_line=line,
                    unit_index=unit,
                    serial_number=f"SN{line.pk:07d}{unit}",
                    catalog_entry=entry,
                    catalog_change=changes.get(entry.pk),
                    catalog_version=entry.version,
                    merchant_id=shipment.order.merchant_id,
                    consumer_id=shipment.order.consumer_id,
                    product_id=line.sku.product_id,
                    sku_id=line.sku_id,
                    product_name=line.product_name,
                    unit_price=line.unit_paid_price,
                    needs_installation=category.needs_installation,
                    signed_at=shipment.signed_at,
                    installed_at=installed,
                    starts_at=installed if category.needs_installation else shipment.signed_at,
                    created_at=shipment.signed_at,
                )
            )
    cards = WarrantyCard.objects.bulk_create(rows, batch_size=500)
    ctx.count("warranty_cards", len(cards))
    return list(
        WarrantyCard.objects.filter(pk__in=[c.pk for c in cards]).order_by("signed_at", "pk")
    )


def _seed_providers(ctx):
    users = {}
    for username, _key, _role in PROVIDER_STAFF:
        users[username] = User.objects.create(
            username=username, password=ctx.password_hash, email=f"{username}@repair.example"
        )
    providers = {}
    for key, (name, licence, codes) in PROVIDERS.items():
        owner = next(users[u] for u, k, r in PROVIDER_STAFF if k == key and r == "owner")
        provider = services.provider_apply(
            actor=SYSTEM,
            owner=owner,
            name=name,
            licence_number=licence,
            categories=codes,
            contact_name=name[:2] + "经理",  # i18n-exempt: demo data
            contact_phone="021-5555" + licence[-4:],
            address=ADDRESS.format(licence[-3:], name),
            service_hours="周一至周日 09:00–18:00",  # i18n-exempt: demo data
        )
        if key != "new":
            provider = services.provider_review(
                provider=provider,
                actor=SYSTEM,
                approve=True,
                note="资质齐全，准入",  # i18n-exempt: demo data
            )
        if key == "paused":
            provider = services.provider_suspend(
                provider=provider,
                actor=SYSTEM,
                reason="近期超期维修较多，整改中",  # i18n-exempt: demo data
            )
        providers[key] = provider
    for username, key, role in PROVIDER_STAFF:
        if role != "owner":
            services.provider_member_add(
                provider=providers[key], user=users[username], actor=SYSTEM, role=role
            )
    ctx.count("repair_providers", len(providers))
    return providers, users


def _pick(cards, used, *, codes, older_than_days, now):
    for card in cards:
        start = card.starts_at
        if (
            card.pk not in used
            and card.catalog_entry.code in codes
            and start is not None
            and start < now - timedelta(days=older_than_days)
        ):
            used.add(card.pk)
            return card
    return None


def _seed_repairs(ctx, cards, providers, staff):
    now = ctx.now
    tech = {
        "home": actor_for_user(staff["repair-home"]),
        "mobile": actor_for_user(staff["repair-mobile"]),
    }
    used = set()
    made = 0

    def days(n, hour=0):
        return now - timedelta(days=n, hours=hour)

    def start(card, fault, *, ago, provider_key=None, received_ago=None):
        consumer = actor_for_user(card.consumer.user)
        repair = services.repair_request(
            actor=consumer, card=card, fault_description=fault, fault_reported_at=days(ago, 2)
        )
        if provider_key is None:
            return repair
        provider = providers[provider_key]
        repair = services.repair_assign(
            repair=repair, provider=provider, actor=SYSTEM, occurred_at=days(ago, 1)
        )
        if received_ago is None:
            return repair
        return services.repair_receive(
            repair=repair, actor=tech[provider_key], occurred_at=days(received_ago)
        )

    def finish(repair, key, *, ago, result="fixed", **kwargs):
        repair = services.repair_finish(
            repair=repair, actor=tech[key], result=result, occurred_at=days(ago), **kwargs
        )
        return services.repair_return_to_consumer(
            repair=repair, actor=tech[key], occurred_at=days(ago) + timedelta(hours=2)
        )

    tv = ("lcd_tv", "crt_tv", "home_av", "video_recorder")
    phones = ("mobile_phone", "microcomputer")
    plan = [
        # (codes, card older than, provider, steps)
        (tv, 1, "requested"),
        (phones, 1, "assigned"),
        (tv, 4, "received"),
        (tv, 22, "waiting_parts"),
        (phones, 45, "returned"),
        (tv, 8, "paid_g11"),
        (tv, 40, "past_g6"),
        (phones, 25, "g12"),
        (tv, 45, "g4"),
    ]
    for codes, age, case in plan:
        card = _pick(cards, used, codes=codes, older_than_days=age, now=now)
        if card is None:
            continue
        key = "home" if codes is tv else "mobile"
        try:
            with transaction.atomic():
                _case(case, card, key, start, finish, tech, days)
        except DomainError as exc:  # a demo case that does not fit the data is skipped
            ctx.log(f"  repairs demo: case {case} skipped ({exc.code})")
            continue
        made += 1
    ctx.count("repair_cases", made)
    return made


def _case(case, card, key, start, finish, tech, days):
    if case == "requested":
        start(card, "开机后画面闪烁，有横纹", ago=0)  # i18n-exempt: demo data
    elif case == "assigned":
        start(card, "充电很慢，电池发烫", ago=0, provider_key=key)  # i18n-exempt: demo data
    elif case == "received":
        repair = start(
            card,
            "无法开机，指示灯不亮",  # i18n-exempt: demo data
            ago=3,
            provider_key=key,
            received_ago=2,
        )
        services.repair_diagnose(
            repair=repair,
            actor=tech[key],
            diagnosis="电源板故障",  # i18n-exempt: demo data
            occurred_at=days(1),
        )
    elif case == "waiting_parts":
        repair = start(
            card,
            "屏幕有亮线",  # i18n-exempt: demo data
            ago=21,
            provider_key=key,
            received_ago=20,
        )
        services.repair_parts_wait_start(
            repair=repair,
            actor=tech[key],
            parts="显示屏",  # i18n-exempt: demo data
            occurred_at=days(15),
        )
    elif case == "returned":
        repair = start(
            card,
            "摄像头无法对焦",  # i18n-exempt: demo data
            ago=40,
            provider_key=key,
            received_ago=39,
        )
        repair = finish(
            repair,
            key,
            ago=36,
            parts_replaced=[
                {
                    "name": "摄像头模组",  # i18n-exempt: demo data
                    "quantity": 1,
                }
            ],
        )
        services.repair_close(repair=repair, actor=actor_for_user(card.consumer.user))
    elif case == "paid_g11":
        repair = start(
            card,
            "进水后无法开机",  # i18n-exempt: demo data
            ago=6,
            provider_key=key,
            received_ago=5,
        )
        repair = services.repair_diagnose(
            repair=repair,
            actor=tech[key],
            diagnosis="主板进水腐蚀",  # i18n-exempt: demo data
            paid_reason="misuse",
            occurred_at=days(4),
        )
        finish(
            repair,
            key,
            ago=2,
            labour_fee="80.00",
            parts_fee="420.00",
            parts_replaced=[{"name": "主板", "quantity": 1}],  # i18n-exempt: demo data
        )
    elif case == "past_g6":
        start(
            card,
            "无声音，遥控无反应",  # i18n-exempt: demo data
            ago=36,
            provider_key=key,
            received_ago=35,
        )
    elif case == "g12":
        repair = start(
            card,
            "频繁死机",  # i18n-exempt: demo data
            ago=20,
            provider_key=key,
            received_ago=19,
        )
        repair = finish(repair, key, ago=12)
        services.repair_fault_reoccurred(
            repair=repair,
            actor=actor_for_user(card.consumer.user),
            fault_description="修好后再次频繁死机",  # i18n-exempt: demo data
        )
    elif case == "g4":
        for fault, received, done in (
            (
                "开机黑屏",  # i18n-exempt: demo data
                42,
                40,
            ),
            (
                "开机黑屏，无图像",  # i18n-exempt: demo data
                34,
                32,
            ),
        ):
            repair = start(card, fault, ago=received + 1, provider_key=key, received_ago=received)
            finish(repair, key, ago=done)
        start(card, "第三次开机黑屏", ago=0)  # i18n-exempt: demo data
