"""schemathesis over every operation of openapi.yaml (issue 19, "The schema tells the truth").

Every operation, with a platform key and a merchant key, a few generated requests each (positive
data, fixed seed), against the WSGI application in-process on the test database, which holds
the objects of every endpoint of the permission matrix (``tests/matrix``) for both tenants, so
that responses carry real rows. Checked: no server error, and every status, content type,
header and body as the schema documents it.
"""

import re

import pytest
import schemathesis
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.urls import resolve
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.test import Client

from aftersales import clock
from aftersales.tenancy.auth import api_key_lookup
from aftersales.tenancy.models import PlatformGroup
from aftersales.tests import factories as f
from config.wsgi import application
from tests import matrix
from tests.matrix import KEY_ROLES, REGISTRY, Side, World

MAX_EXAMPLES = 3
# Bounded and repeatable: positive data only, a few examples per operation, a fixed seed; no
# coverage or stateful phase (they multiply the requests far past the time budget).
CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 19,
        "generation": {"mode": "positive", "max-examples": MAX_EXAMPLES, "deterministic": True},
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": False},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},
        },
    }
)
schema = schemathesis.openapi.from_path(settings.BASE_DIR / "openapi.yaml", config=CONFIG)
schema.app = application
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
matrix.load()


def _world():
    merchant_a = f.MerchantFactory(code="shop-a", name="甲商家")
    merchant_b = f.MerchantFactory(code="shop-b", name="乙商家")
    users = {
        "consumer_a": f.ConsumerFactory(user=f.UserFactory(username="consumer-a")).user,
        "consumer_b": f.ConsumerFactory(user=f.UserFactory(username="consumer-b")).user,
        "merchant_a": f.MerchantMemberFactory(
            merchant=merchant_a, user=f.UserFactory(username="staff-a")
        ).user,
        "merchant_b": f.MerchantMemberFactory(
            merchant=merchant_b, user=f.UserFactory(username="staff-b")
        ).user,
    }
    for group in PlatformGroup.values:
        users[group] = f.platform_user(group)
    users["merchant_key_a"] = f.api_key("merchant", merchant_a, name="shop-a key")[1]
    users["platform_key"] = f.api_key("platform", name="platform key")[1]
    sides = {
        code: Side(
            code=code,
            merchant=merchant,
            consumer=users[f"consumer_{code}"].consumer,
            staff=users[f"merchant_{code}"],
            consumer_user=users[f"consumer_{code}"],
        )
        for code, merchant in (("a", merchant_a), ("b", merchant_b))
    }
    keys = {role: api_key_lookup(users[role]) for role in KEY_ROLES}
    return World(a=sides["a"], b=sides["b"], users=users, api_keys=keys)


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """Both tenants, every role, and every matrix endpoint's objects, built once for the
    module inside a transaction that is rolled back at its end."""
    with django_db_blocker.unblock(), transaction.atomic():
        world = _world()
        world.targets = {}
        for name, endpoint in REGISTRY.items():
            for side in (world.b, world.a):
                world.targets[name] = endpoint.build(world, side)
        yield world
        transaction.set_rollback(True)
        clock.invalidate()


@pytest.fixture
def keys(seeded, db):
    return [seeded.users["platform_key"], seeded.users["merchant_key_a"]]


@pytest.fixture
def wsgi_in_test_transaction(db):
    """Requests through the WSGI handler, inside the test's transaction: like Django's test
    client, keep the handler from closing the connection at the end of each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_every_operation_conforms_to_the_schema(case, keys, wsgi_in_test_transaction):
    for key in keys:
        response = case.call(headers={"Authorization": f"Api-Key {key}"})
        case.validate_response(response, checks=CHECKS)


def _url(template, target):
    url = template
    for piece in template.split("/"):
        if piece.startswith("{"):
            name = piece.strip("{}")
            kwargs = target.kwargs
            url = url.replace(piece, str(kwargs.get(name, kwargs.get("pk"))))
    return url


GETS = sorted(
    path for path, item in schema.raw_schema["paths"].items() if "get" in item and "{" in path
)


@pytest.mark.parametrize("path", GETS)
def test_every_object_read_on_real_rows_conforms_to_the_schema(
    path, seeded, keys, wsgi_in_test_transaction
):
    """Generated ids rarely name a row: read the matrix's own objects, as both keys."""
    name = resolve(re.sub(r"\{[^}]+\}", "1", path)).url_name
    target = seeded.targets.get(name)
    if target is None:
        pytest.skip("no object of the matrix")
    client = Client(application)
    operation = schema[path]["GET"]
    for key in keys:
        response = client.get(_url(path, target), headers={"Authorization": f"Api-Key {key}"})
        assert response.status_code < 500, response.get_data()[:300]
        operation.validate_response(response)
