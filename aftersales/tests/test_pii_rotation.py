"""``manage.py rotate_pii_keys`` (RULES.md D1: keys rotatable)."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from aftersales import pii
from aftersales.pii import rotation
from aftersales.tenancy import services
from aftersales.tenancy.actors import SYSTEM
from aftersales.tenancy.models import ConsumerAddress, ConsumerProfile
from aftersales.tests import factories as f

pytestmark = pytest.mark.django_db


def _raw_values():
    out = []
    with connection.cursor() as cur:
        cur.execute("SELECT name, phone FROM aftersales_consumerprofile")
        out += [v for row in cur.fetchall() for v in row if v]
        cur.execute("SELECT recipient, phone, street, unit FROM aftersales_consumeraddress")
        out += [v for row in cur.fetchall() for v in row if v]
    return out


def _make_consumers(n=3):
    for i in range(n):
        services.consumer_create(
            username=f"rot{i}",
            name=f"赵{i}号",
            phone=f"1380000000{i}",
            actor=SYSTEM,
            addresses=[
                {
                    "recipient": f"赵{i}",
                    "phone": f"1380000000{i}",
                    "province": "浙江省",
                    "city": "杭州市",
                    "street": f"文一西路{i}号",
                    "unit": f"{i}单元",
                }
            ],
        )


def _run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("rotate_pii_keys", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_rotation_reseals_everything_under_a_new_key(ring_file):
    _make_consumers(3)
    old = pii.keyring().active
    assert {pii.key_id_of(v) for v in _raw_values()} == {old}

    out, _ = _run("--batch-size", "2")

    ring = pii.KeyRing.from_json(ring_file.read_text())
    assert ring.active != old and old in ring.keys  # the old key stays to read old dumps
    assert pii.keyring().active == ring.active
    assert {pii.key_id_of(v) for v in _raw_values()} == {ring.active}
    assert "aftersales.consumerprofile.name: resealed=3" in out
    assert "aftersales.consumeraddress.unit: resealed=3" in out
    assert rotation.pii_stale_count() == 0
    profile = ConsumerProfile.objects.get(user__username="rot1")
    assert (profile.name, profile.phone) == ("赵1号", "13800000001")
    assert ConsumerAddress.objects.get(consumer=profile).unit == "1单元"
    # the blind index did not change: lookups keep working
    assert services.consumer_find_by_phone("13800000001") == profile


def test_rotation_is_idempotent_and_leaves_current_values_alone(ring_file):
    _make_consumers(2)
    _run()
    before = sorted(_raw_values())
    out, _ = _run("--reencrypt")
    assert sorted(_raw_values()) == before  # nothing rewritten
    assert "total: resealed=0 plaintext_sealed=0 already_current=" in out


def test_rotation_resumes_after_an_interrupted_run(ring_file):
    _make_consumers(3)
    old_ring = pii.keyring()
    new_ring = old_ring.with_new_active_key()
    # Half done: one consumer's values already under the new key.
    first = ConsumerProfile.objects.order_by("pk").first()
    ConsumerProfile.objects.filter(pk=first.pk).update(
        name=pii.Sealed(pii.encrypt(first.name, new_ring)),
        phone=pii.Sealed(pii.encrypt(first.phone, new_ring)),
    )
    pii.write_ring_file(ring_file, new_ring)
    pii.reload_keyring()
    out, _ = _run("--reencrypt")
    assert "aftersales.consumerprofile.name: resealed=2 plaintext_sealed=0 already_current=1" in out
    assert {pii.key_id_of(v) for v in _raw_values()} == {new_ring.active}
    assert ConsumerProfile.objects.get(pk=first.pk).name == first.name


def test_legacy_plaintext_is_sealed(ring_file):
    profile = f.ConsumerFactory(name="孙悟空")
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE aftersales_consumerprofile SET name = %s WHERE id = %s", ["孙悟空", profile.pk]
        )
    assert ConsumerProfile.objects.get(pk=profile.pk).name == "孙悟空"
    out, _ = _run("--reencrypt")
    assert "aftersales.consumerprofile.name: resealed=0 plaintext_sealed=1" in out
    assert "孙悟空" not in _raw_values()


def test_dry_run_writes_nothing(ring_file):
    _make_consumers(1)
    before = sorted(_raw_values())
    new_ring = pii.keyring().with_new_active_key()
    pii.write_ring_file(ring_file, new_ring)
    pii.reload_keyring()
    out, _ = _run("--dry-run")
    assert "(dry run)" in out and "resealed=1" in out
    assert sorted(_raw_values()) == before


def test_env_ring_prints_new_json_then_reencrypts_from_ring_file(tmp_path):
    _make_consumers(2)
    current = pii.keyring()
    with override_settings(PII_KEYS=current.to_json()):
        pii.reload_keyring()
        try:
            out, err = _run()
            new = pii.KeyRing.from_json(out)
            assert new.active != current.active and set(current.keys) < set(new.keys)
            assert "PII_KEYS" in err
            # printing the ring changed nothing
            assert {pii.key_id_of(v) for v in _raw_values()} == {current.active}

            path = tmp_path / "new.json"
            path.write_text(out)
            out2, _ = _run("--ring-file", str(path))
            assert "resealed=2" in out2
            assert {pii.key_id_of(v) for v in _raw_values()} == {new.active}
            assert {pii.decrypt(v, new) for v in _raw_values()} >= {"赵0号", "13800000001"}
        finally:
            pii.reload_keyring()
    with override_settings(PII_KEYS=new.to_json()):
        pii.reload_keyring()
        try:
            assert ConsumerProfile.objects.get(user__username="rot0").name == "赵0号"
        finally:
            pii.reload_keyring()


def test_ring_file_missing_a_key_is_refused(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(pii.KeyRing.generate().to_json())
    with pytest.raises(CommandError, match="lacks keys"):
        _run("--ring-file", str(path))


def test_other_process_picks_up_a_rotated_file(ring_file):
    """A process whose cached ring predates the rotation re-reads the file on an unknown key."""
    profile = f.ConsumerFactory(name="周芷若")
    stale = pii.keyring()
    _run()
    pii.keyring.cache_clear()
    # simulate the stale cache of another process
    import aftersales.pii as mod

    original = mod.keyring
    calls = {"n": 0}

    def cached():
        calls["n"] += 1
        return stale if calls["n"] == 1 else original()

    cached.cache_clear = original.cache_clear
    mod.keyring = cached
    try:
        assert ConsumerProfile.objects.get(pk=profile.pk).name == "周芷若"
    finally:
        mod.keyring = original
    assert json.loads(ring_file.read_text())["active"] != stale.active
