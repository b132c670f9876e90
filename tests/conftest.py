"""Fixtures of the cross-app tests: the permission-matrix world and a client per role."""

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client

from aftersales.tenancy.auth import api_key_lookup
from tests.matrix import KEY_ROLES, ROLES, Side, World


@pytest.fixture
def world(roles, merchant_a, merchant_b):
    """Both tenants and every role of ``tests.matrix.ROLES``."""
    users = dict(roles)
    sides = {}
    for code, merchant in (("a", merchant_a), ("b", merchant_b)):
        consumer_user = users[f"consumer_{code}"]
        sides[code] = Side(
            code=code,
            merchant=merchant,
            consumer=consumer_user.consumer,
            staff=users[f"merchant_{code}"],
            consumer_user=consumer_user,
        )
    keys = {role: api_key_lookup(users[role]) for role in KEY_ROLES}
    return World(a=sides["a"], b=sides["b"], users=users, api_keys=keys)


@pytest.fixture
def role_clients(world):
    """``{role: Client}``: users signed in with a real session, keys in the header."""
    clients = {}
    for role in ROLES:
        client = Client()
        if role in KEY_ROLES:
            client.defaults["HTTP_AUTHORIZATION"] = f"Api-Key {world.users[role]}"
        elif role != "anonymous":
            client.force_login(world.users[role])
        clients[role] = client
    return clients


@pytest.fixture
def wsgi_in_test_transaction(db):
    """Requests through the WSGI handler, inside the test's transaction: like Django's test
    client, keep the handler from closing the connection at the end of each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
