"""No personal data in logs (issue 19): the demo consumers' phones, names and streets never
appear in what the platform logs — neither in the flows that handle them (checked here with
every logger at DEBUG) nor anywhere in a whole test run (config/settings/test.py writes every
record of the run to var/test/log/pytest/; the last test scans those files)."""

import logging
import random

import pytest
from django.conf import settings
from django.test import Client

import config.gunicorn
from demo.kernel import demo_consumers
from demo.seed import SEED, seed_all

SHORTEST_NAME = 2  # a surname and a one-character given name


def demo_personal_values():
    """Every phone, name (the consumer's and each address's recipient) and street of the demo
    consumers, without a database: the demo draws them first from ``random.Random(SEED)``."""
    values = set()
    for consumer in demo_consumers(random.Random(SEED)):
        values |= {consumer["phone"], consumer["name"]}
        for address in consumer["addresses"]:
            values |= {address["recipient"], address["street"]}
    return values


def hits(text, values):
    """The values found in ``text`` (sorted)."""
    return sorted(v for v in values if v and v in text)


def test_the_demo_values_are_the_seeded_ones(db):
    seed_all(out=open("/dev/null", "w"))
    from aftersales.tenancy.models import ConsumerAddress, ConsumerProfile

    seeded = {c.phone for c in ConsumerProfile.objects.all()}
    seeded |= {c.name for c in ConsumerProfile.objects.all()}
    seeded |= {a.street for a in ConsumerAddress.objects.all()}
    seeded |= {a.recipient for a in ConsumerAddress.objects.all()}
    assert seeded == demo_personal_values()


def test_the_scan_finds_a_phone_a_name_and_a_street():
    values = demo_personal_values()
    phone = next(v for v in values if v.isdigit())
    street = next(v for v in values if v.endswith("号"))
    name = next(v for v in values if len(v) >= SHORTEST_NAME and not v.endswith("号"))
    assert hits(f"GET /api/v1/consumers/?phone={phone}", values) == [phone]
    assert hits(f"address: {street} for {name}", values) == sorted({street, name})
    assert hits("GET /api/v1/consumers/ 200", values) == []


@pytest.fixture
def every_logger_at_debug(caplog):
    with caplog.at_level(logging.DEBUG):
        yield caplog


def test_the_flows_that_handle_consumers_log_none_of_their_data(db, every_logger_at_debug):
    seed_all(out=open("/dev/null", "w"))
    from aftersales.tenancy.models import ConsumerProfile

    consumer = ConsumerProfile.objects.select_related("user").order_by("pk").first()
    address = consumer.addresses.order_by("pk").first()
    from aftersales.tenancy.models import PlatformGroup
    from aftersales.tests import factories as f

    agent = f.platform_user(PlatformGroup.AGENT, username="scan-agent")
    staff = Client()
    staff.force_login(agent)
    # A lookup by phone (in the body), the refused query string, a reveal with its reason.
    staff.post(
        "/api/v1/consumers/lookup/", {"phone": consumer.phone}, content_type="application/json"
    )
    staff.get("/api/v1/consumers/", {"phone": consumer.phone})
    staff.post(
        f"/api/v1/consumers/{consumer.pk}/reveal/",
        {"fields": ["name", "phone", "addresses"], "reason": "核实地址"},
        content_type="application/json",
    )
    # Invalid input that carries personal data, and failed sign-ins with it as the username.
    staff.post(
        "/api/v1/consumers/",
        {"username": "x" * 200, "name": consumer.name, "phone": consumer.phone},
        content_type="application/json",
    )
    for username in (consumer.phone, consumer.name, address.street):
        Client().post("/accounts/login/", {"username": username, "password": "wrong"})
    Client(HTTP_AUTHORIZATION=f"Api-Key as_{consumer.phone}_x").get("/api/v1/orders/")
    text = every_logger_at_debug.text + "\n".join(
        str(record.args) for record in every_logger_at_debug.records
    )
    assert every_logger_at_debug.records  # the flows did log
    assert hits(text, demo_personal_values()) == []


def test_the_access_log_keeps_no_query_string_or_referer():
    # A query string or a referring page's URL may carry a phone or a name (?q=, ?phone=).
    fmt = config.gunicorn.access_log_format
    assert "%(U)s" in fmt
    for field in ("%(r)s", "%(q)s", "%(f)s", "%({"):
        assert field not in fmt


def test_the_runs_logs_hold_no_demo_personal_data():
    """Runs last (conftest.py): everything the run logged, in every process, holds none of the
    demo consumers' phones, names or streets."""
    folder = settings.TEST_LOG_DIR
    files = sorted(folder.glob("*.log"))
    assert files, f"no log of this run under {folder}"
    values = demo_personal_values()
    found = {path.name: hits(path.read_text(errors="replace"), values) for path in files}
    assert {name: h for name, h in found.items() if h} == {}
