"""schemathesis over every operation of openapi.yaml (issue 19, "The schema tells the truth").

Every operation, with a platform key and a merchant key, a few generated requests each (valid
and invalid data, fixed seed), against the WSGI application in-process on the test database,
which holds the objects of every endpoint of the permission matrix (``tests/matrix``) for both
tenants, so that responses carry real rows. Checked: no server error, and every status, content
type, header and body as the schema documents it.
"""

import pytest
import schemathesis
from django.conf import settings
from django.db import IntegrityError, transaction
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

from aftersales import clock
from aftersales.tenancy.auth import api_key_lookup
from aftersales.tenancy.models import PlatformGroup
from aftersales.tests import factories as f
from config.wsgi import application
from tests import matrix
from tests.matrix import KEY_ROLES, REGISTRY, Side, World

MAX_EXAMPLES = 3
# Bounded and repeatable: valid and invalid data, a few examples per operation, a fixed seed; no
# coverage or stateful phase (they multiply the requests far past the time budget).
CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 19,
        "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True},
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
        for endpoint in REGISTRY.values():
            for side in (world.b, world.a):
                # Some setups make a row another endpoint's setup already made (one open
                # deadline of a kind per subject): that endpoint keeps the rows it has.
                try:
                    with transaction.atomic():
                        endpoint.build(world, side)
                except IntegrityError:
                    pass
        yield world
        transaction.set_rollback(True)
        clock.invalidate()


@pytest.fixture
def keys(seeded, db):
    return [seeded.users["platform_key"], seeded.users["merchant_key_a"]]


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
