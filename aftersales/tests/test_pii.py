"""Personal data at rest and masking (RULES.md D1, D2)."""

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from aftersales import pii
from aftersales.tenancy import services
from aftersales.tenancy.actors import SYSTEM
from aftersales.tenancy.models import ConsumerAddress, ConsumerProfile
from aftersales.tests import factories as f


def _raw(table, column, pk):
    with connection.cursor() as cur:
        cur.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cur.fetchone()[0]


@pytest.mark.django_db
def test_consumer_pii_is_encrypted_at_rest_with_key_id():
    profile = services.consumer_create(
        username="wang",
        name="王小明",
        phone="13912345678",
        actor=SYSTEM,
        addresses=[
            {
                "recipient": "王小明",
                "phone": "13912345678",
                "province": "北京市",
                "city": "北京市",
                "district": "海淀区",
                "street": "中关村大街27号",
                "unit": "3号楼502室",
            }
        ],
    )
    active = pii.keyring().active
    for column, plain in (("name", "王小明"), ("phone", "13912345678")):
        raw = _raw("aftersales_consumerprofile", column, profile.pk)
        assert plain not in raw
        assert raw.startswith(f"pii1:{active}:")
        assert pii.key_id_of(raw) == active
    address = profile.addresses.get()
    for column in ("recipient", "phone", "street", "unit"):
        raw = _raw("aftersales_consumeraddress", column, address.pk)
        assert raw.startswith(f"pii1:{active}:")
        assert getattr(address, column) not in raw
    fresh = ConsumerProfile.objects.get(pk=profile.pk)
    assert (fresh.name, fresh.phone) == ("王小明", "13912345678")
    assert ConsumerAddress.objects.get(pk=address.pk).unit == "3号楼502室"


@pytest.mark.django_db
def test_same_plaintext_seals_differently_and_blind_index_is_stable():
    a = f.ConsumerFactory(phone="13812345678")
    b = f.ConsumerFactory(phone="+86 138-1234-5678")
    assert _raw("aftersales_consumerprofile", "phone", a.pk) != _raw(
        "aftersales_consumerprofile", "phone", b.pk
    )
    assert a.phone_index == b.phone_index == pii.blind_index("13812345678")
    assert "13812345678" not in a.phone_index


@pytest.mark.django_db
def test_a_value_that_looks_like_a_token_is_still_sealed():
    profile = f.ConsumerFactory(name="pii1:kbogus:AAAA")
    raw = _raw("aftersales_consumerprofile", "name", profile.pk)
    assert raw.startswith(f"pii1:{pii.keyring().active}:")
    assert ConsumerProfile.objects.get(pk=profile.pk).name == "pii1:kbogus:AAAA"


def test_tampered_token_does_not_decrypt():
    token = pii.encrypt("张三")
    body = token.rsplit(":", 1)[1]
    tampered = token[: -len(body)] + ("A" if body[0] != "A" else "B") + body[1:]
    with pytest.raises(Exception):  # noqa: B017  (cryptography's InvalidTag)
        pii.decrypt(tampered)


def test_unknown_key_id_is_reported():
    token = pii.encrypt("张三").replace(f":{pii.keyring().active}:", ":knotthere:")
    with pytest.raises(pii.UnknownPiiKey):
        pii.decrypt(token)


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张", "*"),
        ("张三", "张*"),
        ("张三丰", "张*丰"),
        ("欧阳娜娜", "欧**娜"),
        ("阿卜杜拉·买买提", "阿******提"),
        ("Lei", "L**"),
        ("Li Lei", "L* L**"),
        ("John Ronald Smith", "J*** R***** S****"),
        ("", ""),
    ],
)
def test_mask_name(name, masked):
    assert pii.mask_name(name) == masked


@pytest.mark.parametrize(
    "name", ["张", "张三", "张三丰", "欧阳娜娜", "Li", "Li Lei", "A B", "Ng", "X"]
)
def test_mask_name_hides_at_least_one_character(name):
    masked = pii.mask_name(name)
    assert masked != name
    assert masked.count("*") >= 1
    letters = [c for c in name if not c.isspace()]
    shown = [c for c in masked if c not in "* "]
    assert len(shown) < len(letters)


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812345678", "138******78"),
        ("+86 138 1234 5678", "138******78"),
        ("010-62345678", "010******78"),
        ("0755-123456789", "075********89"),
        ("123456789", "12******9"),
        ("12345", "*****"),
        ("", ""),
    ],
)
def test_mask_phone(phone, masked):
    assert pii.mask_phone(phone) == masked


@pytest.mark.parametrize(
    "phone", ["13812345678", "02161234567", "123456789", "1234567890", "075512345678", "1234567"]
)
def test_mask_phone_hides_at_least_six_digits(phone):
    digits = pii.normalize_phone(phone)
    assert pii.mask_phone(phone).count("*") >= min(6, len(digits))


def test_mask_address_drops_unit_and_numbers():
    masked = pii.mask_address(
        province="北京市", city="北京市", district="海淀区", street="中关村大街27号院3号楼502室"
    )
    assert masked == "北京市北京市海淀区中关村大街****"
    assert not any(c.isdigit() for c in masked)
    assert pii.mask_address(province="上海市", city="上海市", street="88号") == "上海市上海市****"


@pytest.mark.django_db
def test_address_model_masked_never_shows_unit():
    profile = services.consumer_create(
        username="li",
        name="李雷",
        phone="13700000000",
        actor=SYSTEM,
        addresses=[
            {
                "recipient": "李雷",
                "phone": "13700000000",
                "province": "广东省",
                "city": "深圳市",
                "district": "南山区",
                "street": "科技园路1号",
                "unit": "A座1201",
            }
        ],
    )
    masked = profile.addresses.get().masked
    assert "1201" not in masked and "A座" not in masked
    assert masked.startswith("广东省深圳市南山区科技园路")


@pytest.mark.django_db
def test_dumpdata_serialises_tokens_not_plaintext():
    from django.core import serializers

    profile = f.ConsumerFactory(name="韩梅梅", phone="13600000000")
    text = serializers.serialize("json", ConsumerProfile.objects.filter(pk=profile.pk))
    assert "韩梅梅" not in text and "13600000000" not in text
    obj = next(serializers.deserialize("json", text)).object
    assert obj.name == "韩梅梅"


@settings(deadline=None)
@given(st.text(min_size=1, max_size=12).filter(lambda s: s.strip()))
def test_mask_name_property_hides_something(name):
    masked = pii.mask_name(name)
    assert "*" in masked
    assert sum(1 for c in masked if c not in "* ") < sum(1 for c in name.strip() if not c.isspace())


@settings(deadline=None)
@given(st.text(alphabet="0123456789", min_size=6, max_size=16))
def test_mask_phone_property_hides_six_digits(digits):
    masked = pii.mask_phone(digits)
    assert masked.count("*") >= 6
    assert len(masked) == len(pii.normalize_phone(digits))


def test_ring_file_is_private(tmp_path):
    import stat

    path = tmp_path / "ring.json"
    pii.write_ring_file(path, pii.KeyRing.generate())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = path.read_text()
    pii.write_ring_file(path, pii.KeyRing.generate(), replace=False)  # an existing file wins
    assert path.read_text() == first
    assert list(tmp_path.iterdir()) == [path]  # no temporary files left behind
