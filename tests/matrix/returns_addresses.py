"""Who may read and change merchants' return addresses (``tests.matrix``): the merchant's staff
and keys keep their own (pages: staff only), platform readers see all, platform writers change
any merchant's; consumers, mediators and other merchants see none."""

from returns.models import ReturnAddress
from tests.matrix import (
    MERCHANT_A,
    MERCHANT_A_STAFF,
    PLATFORM_READ,
    PLATFORM_WRITE,
    Read,
    Target,
    Write,
    register,
)

CHANGES = (ReturnAddress,)


def _address(w, side):
    from returns.models import ReturnAddress
    from returns.services import return_address_create
    from returns.tests.factories import merchant_actor

    warehouse = f"矩阵仓-{side.code}"
    address = ReturnAddress.objects.filter(
        merchant=side.merchant, warehouse=warehouse, active=True
    ).first()
    if address is not None:  # another endpoint's setup made it (tests/test_schema_conformance)
        return Target(kwargs={"pk": address.pk}, row=address.pk, obj=address)
    address = return_address_create(
        actor=merchant_actor(side.merchant),
        merchant_id=side.merchant.pk,
        warehouse=warehouse,
        contact_name="仓管",
        phone="021-55550000",
        province="上海市",
        city="上海市",
        district="浦东新区",
        street=f"矩阵路 {side.code} 号",
    )
    return Target(kwargs={"pk": address.pk}, row=address.pk, obj=address)


def _address_page(w, side):
    target = _address(w, side)
    return Target(kwargs=target.kwargs, row=target.obj.warehouse, obj=target.obj)


NEW = {
    "warehouse": "新仓",
    "contact_name": "收货员",
    "phone": "13800000000",
    "province": "浙江省",
    "city": "杭州市",
    "street": "新仓路 1 号",
}


def _new_for(w, t):
    return NEW | {"merchant": w.a.merchant.pk}


register(
    "return-address-list",
    setup=_address,
    get=Read(MERCHANT_A | PLATFORM_READ),
    # every merchant keeps its own: B's staff add one for B (the body's merchant is ignored)
    post=Write(MERCHANT_A | {"merchant_b"} | PLATFORM_WRITE, body=_new_for, touches=CHANGES),
)
register(
    "return-address-detail",
    setup=_address,
    get=Read(MERCHANT_A | PLATFORM_READ),
    patch=Write(MERCHANT_A | PLATFORM_WRITE, body={"phone": "021-55551111"}, touches=CHANGES),
    delete=Write(MERCHANT_A | PLATFORM_WRITE, touches=CHANGES),
)
register(
    "merchant:return-address-list",
    setup=_address_page,
    get=Read(MERCHANT_A_STAFF),
    post=Write(MERCHANT_A_STAFF | {"merchant_b"}, body=NEW, touches=CHANGES, status=(302,)),
)
register(
    "merchant:return-address-edit",
    setup=_address_page,
    get=Read(MERCHANT_A_STAFF),
    post=Write(
        MERCHANT_A_STAFF,
        body=NEW | {"warehouse": "改名仓"},
        touches=CHANGES,
        status=(302,),
    ),
)
register(
    "merchant:return-address-archive",
    setup=_address_page,
    visible=MERCHANT_A_STAFF,
    post=Write(MERCHANT_A_STAFF, touches=CHANGES, status=(302,)),
)
