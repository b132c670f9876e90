"""The kernel's demo rows: platform staff, the demo merchants with an owner and an agent each,
and 50 consumers with Chinese names, phones, addresses and credit scores.

Loaded in bulk, like a data import from the shop's systems (see ``demo.seed``); the merchants
and consumers are left in ``ctx.data`` for the apps' demo modules.
"""

from django.contrib.auth.models import Group

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
    ("digital", "极客数码旗舰店", "service@digital.example"),
    ("living", "优选生活馆", "service@living.example"),
    ("fresh", "鲜享食品专营店", "service@fresh.example"),
]

# Platform staff: username → (group or None for the superuser, label).
PLATFORM_STAFF = [
    ("admin", None, "超级管理员 superuser"),
    ("agent", PlatformGroup.AGENT, "售后专员 after-sales agent"),
    ("manager", PlatformGroup.MANAGER, "售后主管 after-sales manager"),
    ("mediator", PlatformGroup.MEDIATOR, "调解员 mediator"),
    ("auditor", PlatformGroup.AUDITOR, "审计员 auditor"),
]

CONSUMER_COUNT = 50

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯"
    "邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = [
    "伟",
    "芳",
    "娜",
    "秀英",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀兰",
    "霞",
    "平",
    "刚",
    "桂英",
    "晓明",
    "志强",
    "建华",
    "丹",
    "萍",
    "鹏",
    "华",
    "红",
    "玉兰",
    "飞",
    "鑫",
    "波",
    "斌",
    "宇",
    "浩然",
    "子涵",
    "欣怡",
    "梓萱",
    "思远",
]
# (province, city, [districts])
REGIONS = [
    ("上海市", "上海市", ["浦东新区", "徐汇区", "静安区", "闵行区"]),
    ("北京市", "北京市", ["朝阳区", "海淀区", "东城区", "丰台区"]),
    ("广东省", "广州市", ["天河区", "越秀区", "海珠区"]),
    ("广东省", "深圳市", ["南山区", "福田区", "宝安区"]),
    ("浙江省", "杭州市", ["西湖区", "滨江区", "余杭区"]),
    ("江苏省", "南京市", ["鼓楼区", "玄武区", "建邺区"]),
    ("四川省", "成都市", ["武侯区", "锦江区", "高新区"]),
    ("湖北省", "武汉市", ["洪山区", "江汉区", "武昌区"]),
    ("陕西省", "西安市", ["雁塔区", "碑林区"]),
    ("重庆市", "重庆市", ["渝中区", "江北区", "南岸区"]),
]
STREETS = [
    "人民路",
    "中山路",
    "解放路",
    "建设路",
    "和平路",
    "新华路",
    "长江路",
    "黄河路",
    "科技路",
    "文化路",
    "学院路",
    "滨江大道",
    "世纪大道",
    "光明街",
    "幸福里",
]
PHONE_PREFIXES = ["138", "139", "135", "136", "150", "151", "158", "186", "187", "177", "199"]


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
            first_name=label.split()[0],
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
                first_name=f"{m.name}{'店主' if role == 'owner' else '客服'}",
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
                    "street": f"{rng.choice(STREETS)}{rng.randint(1, 999)}号",
                    "unit": f"{rng.randint(1, 30)}栋{rng.randint(1, 3)}单元"
                    f"{rng.randint(101, 2808)}室",
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
