"""The kernel's demo rows: platform staff, the demo merchants with an owner and an agent each,
and 50 consumers with Chinese names, phones, addresses and credit scores.

Loaded in bulk, like a data import from the shop's systems (see ``demo.seed``); the merchants
and consumers are left in ``ctx.data`` for the apps' demo modules.
"""

from django.contrib.auth.models import Group
from django.utils.translation import gettext_noop

from aftersales.tenancy.models import (
    ConsumerAddress,
    ConsumerProfile,
    Merchant,
    MerchantMember,
    PlatformGroup,
    User,
)

# (code, name, contact) of the demo merchants; their presence marks the demo as loaded.
MERCHANTS = [
    ("digital", "极客数码旗舰店", "service@digital.example"),  # i18n-exempt: demo data
    ("living", "优选生活馆", "service@living.example"),  # i18n-exempt: demo data
    ("fresh", "鲜享食品专营店", "service@fresh.example"),  # i18n-exempt: demo data
]

# Platform staff: username → (group or None for the superuser, role). The role, in Chinese, is
# the demo user's first name, and ``manage.py serve`` prints it translated.
PLATFORM_STAFF = [
    ("admin", None, gettext_noop("超级管理员")),
    ("agent", PlatformGroup.AGENT, gettext_noop("售后专员")),
    ("manager", PlatformGroup.MANAGER, gettext_noop("售后主管")),
    ("mediator", PlatformGroup.MEDIATOR, gettext_noop("调解员")),
    ("auditor", PlatformGroup.AUDITOR, gettext_noop("审计员")),
]

CONSUMER_COUNT = 50

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯"  # i18n-exempt: demo data
    "邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = [
    "伟",  # i18n-exempt: demo data
    "芳",  # i18n-exempt: demo data
    "娜",  # i18n-exempt: demo data
    "秀英",  # i18n-exempt: demo data
    "敏",  # i18n-exempt: demo data
    "静",  # i18n-exempt: demo data
    "丽",  # i18n-exempt: demo data
    "强",  # i18n-exempt: demo data
    "磊",  # i18n-exempt: demo data
    "军",  # i18n-exempt: demo data
    "洋",  # i18n-exempt: demo data
    "勇",  # i18n-exempt: demo data
    "艳",  # i18n-exempt: demo data
    "杰",  # i18n-exempt: demo data
    "娟",  # i18n-exempt: demo data
    "涛",  # i18n-exempt: demo data
    "明",  # i18n-exempt: demo data
    "超",  # i18n-exempt: demo data
    "秀兰",  # i18n-exempt: demo data
    "霞",  # i18n-exempt: demo data
    "平",  # i18n-exempt: demo data
    "刚",  # i18n-exempt: demo data
    "桂英",  # i18n-exempt: demo data
    "晓明",  # i18n-exempt: demo data
    "志强",  # i18n-exempt: demo data
    "建华",  # i18n-exempt: demo data
    "丹",  # i18n-exempt: demo data
    "萍",  # i18n-exempt: demo data
    "鹏",  # i18n-exempt: demo data
    "华",  # i18n-exempt: demo data
    "红",  # i18n-exempt: demo data
    "玉兰",  # i18n-exempt: demo data
    "飞",  # i18n-exempt: demo data
    "鑫",  # i18n-exempt: demo data
    "波",  # i18n-exempt: demo data
    "斌",  # i18n-exempt: demo data
    "宇",  # i18n-exempt: demo data
    "浩然",  # i18n-exempt: demo data
    "子涵",  # i18n-exempt: demo data
    "欣怡",  # i18n-exempt: demo data
    "梓萱",  # i18n-exempt: demo data
    "思远",  # i18n-exempt: demo data
]
# (province, city, [districts])
REGIONS = [
    ("上海市", "上海市", ["浦东新区", "徐汇区", "静安区", "闵行区"]),  # i18n-exempt: demo data
    ("北京市", "北京市", ["朝阳区", "海淀区", "东城区", "丰台区"]),  # i18n-exempt: demo data
    ("广东省", "广州市", ["天河区", "越秀区", "海珠区"]),  # i18n-exempt: demo data
    ("广东省", "深圳市", ["南山区", "福田区", "宝安区"]),  # i18n-exempt: demo data
    ("浙江省", "杭州市", ["西湖区", "滨江区", "余杭区"]),  # i18n-exempt: demo data
    ("江苏省", "南京市", ["鼓楼区", "玄武区", "建邺区"]),  # i18n-exempt: demo data
    ("四川省", "成都市", ["武侯区", "锦江区", "高新区"]),  # i18n-exempt: demo data
    ("湖北省", "武汉市", ["洪山区", "江汉区", "武昌区"]),  # i18n-exempt: demo data
    ("陕西省", "西安市", ["雁塔区", "碑林区"]),  # i18n-exempt: demo data
    ("重庆市", "重庆市", ["渝中区", "江北区", "南岸区"]),  # i18n-exempt: demo data
]
STREETS = [
    "人民路",  # i18n-exempt: demo data
    "中山路",  # i18n-exempt: demo data
    "解放路",  # i18n-exempt: demo data
    "建设路",  # i18n-exempt: demo data
    "和平路",  # i18n-exempt: demo data
    "新华路",  # i18n-exempt: demo data
    "长江路",  # i18n-exempt: demo data
    "黄河路",  # i18n-exempt: demo data
    "科技路",  # i18n-exempt: demo data
    "文化路",  # i18n-exempt: demo data
    "学院路",  # i18n-exempt: demo data
    "滨江大道",  # i18n-exempt: demo data
    "世纪大道",  # i18n-exempt: demo data
    "光明街",  # i18n-exempt: demo data
    "幸福里",  # i18n-exempt: demo data
]
PHONE_PREFIXES = ["138", "139", "135", "136", "150", "151", "158", "186", "187", "177", "199"]
STREET = "{}{}号"  # i18n-exempt: demo data
UNIT = "{}栋{}单元{}室"  # i18n-exempt: demo data


def seed(ctx):
    """Platform staff, the demo merchants with an owner and an agent each, and 50 consumers."""
    rng = ctx.rng
    groups = {g: Group.objects.get_or_create(name=g)[0] for g in PlatformGroup.values}

    # An account created by hand before the demo (``createsuperuser admin``) is kept as it is.
    taken = set(
        User.objects.filter(username__in=[s[0] for s in PLATFORM_STAFF]).values_list(
            "username", flat=True
        )
    )
    staff = [
        User(
            username=username,
            is_staff=True,
            is_superuser=group is None,
            password=ctx.password_hash,
            first_name=label,
        )
        for username, group, label in PLATFORM_STAFF
        if username not in taken
    ]
    User.objects.bulk_create(staff)
    staff = {
        u.username: u for u in User.objects.filter(username__in=[s[0] for s in PLATFORM_STAFF])
    }
    User.groups.through.objects.bulk_create(
        [
            User.groups.through(user_id=staff[username].pk, group_id=groups[group].pk)
            for username, group, _label in PLATFORM_STAFF
            if group is not None and username not in taken
        ]
    )

    merchants = Merchant.objects.bulk_create(
        [
            Merchant(code=code, name=name, contact_email=email, created_at=ctx.now)
            for code, name, email in MERCHANTS
        ]
    )
    merchants = list(Merchant.objects.filter(code__in=[m[0] for m in MERCHANTS]).order_by("id"))
    member_users = User.objects.bulk_create(
        [
            User(
                username=f"{m.code}-{role}",
                password=ctx.password_hash,
                first_name=m.name
                + ("店主" if role == "owner" else "客服"),  # i18n-exempt: demo data
            )
            for m in merchants
            for role in ("owner", "agent")
        ]
    )
    member_users = {
        u.username: u for u in User.objects.filter(username__in=[u.username for u in member_users])
    }
    MerchantMember.objects.bulk_create(
        [
            MerchantMember(
                merchant=m, user=member_users[f"{m.code}-{role}"], role=role, created_at=ctx.now
            )
            for m in merchants
            for role in ("owner", "agent")
        ]
    )

    consumers = _seed_consumers(ctx, rng)
    ctx.data.update(merchants=merchants, consumers=consumers, platform_staff=staff)
    ctx.count("users", len(staff) + len(member_users) + len(consumers))
    ctx.count("merchants", len(merchants))
    ctx.count("consumers", len(consumers))


def demo_consumers(rng):
    """The demo consumers' values, drawn from ``rng`` in a fixed order: ``[{"username", "name",
    "phone", "credit_score", "addresses": [{"recipient", "province", "city", "district",
    "street", "unit"}]}]``. Pure (no database), so that a test can list the demo's personal data
    (tests/test_personal_data_in_logs.py) from ``random.Random(demo.seed.SEED)``: the consumers
    are the first thing the demo draws."""
    usernames = [f"consumer{i:02d}" for i in range(1, CONSUMER_COUNT + 1)]
    # Credit scores spread evenly over 300–950, shuffled, so the express-refund threshold
    # (600 by default) splits the consumers.
    scores = [300 + round(650 * i / (CONSUMER_COUNT - 1)) for i in range(CONSUMER_COUNT)]
    rng.shuffle(scores)
    consumers = []
    for i, username in enumerate(usernames):
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        phone = rng.choice(PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        consumers.append(
            {"username": username, "name": name, "phone": phone, "credit_score": scores[i]}
        )
    for consumer in consumers:
        consumer["addresses"] = []
        for n in range(rng.choice([1, 1, 2])):
            province, city, districts = rng.choice(REGIONS)
            recipient = consumer["name"] if n == 0 else rng.choice(SURNAMES) + rng.choice(GIVEN)
            consumer["addresses"].append(
                {
                    "recipient": recipient,
                    "province": province,
                    "city": city,
                    "district": rng.choice(districts),
                    "street": STREET.format(rng.choice(STREETS), rng.randint(1, 999)),
                    "unit": UNIT.format(
                        rng.randint(1, 30), rng.randint(1, 3), rng.randint(101, 2808)
                    ),
                }
            )
    return consumers


def _seed_consumers(ctx, rng):
    values = demo_consumers(rng)
    usernames = [v["username"] for v in values]
    User.objects.bulk_create([User(username=u, password=ctx.password_hash) for u in usernames])
    users = {u.username: u for u in User.objects.filter(username__in=usernames)}
    profiles = []
    for i, v in enumerate(values):
        profile = ConsumerProfile(
            user=users[v["username"]],
            name=v["name"],
            credit_score=v["credit_score"],
            external_id=f"demo-c{i + 1:03d}",
            created_at=ctx.now,
        )
        profile.set_phone(v["phone"])
        profiles.append(profile)
    ConsumerProfile.objects.bulk_create(profiles)
    by_username = {v["username"]: v for v in values}
    profiles = list(
        ConsumerProfile.objects.filter(user__username__in=usernames)
        .select_related("user")
        .order_by("id")
    )
    addresses = [
        ConsumerAddress(consumer=profile, phone=profile.phone, is_default=(n == 0), **address)
        for profile in profiles
        for n, address in enumerate(by_username[profile.user.username]["addresses"])
    ]
    ConsumerAddress.objects.bulk_create(addresses)
    by_consumer = {}
    for address in addresses:
        by_consumer.setdefault(address.consumer_id, []).append(address)
    for profile in profiles:
        profile.demo_addresses = by_consumer[profile.pk]
    ctx.count("addresses", len(addresses))
    return profiles
