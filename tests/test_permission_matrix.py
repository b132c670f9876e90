"""The permission matrix (issue 2): every endpoint and page, as every role.

Routes come from the URL resolver; their access rules from ``tests/matrix/<app>.py``
(``tests.matrix``). One test per (endpoint, method) builds the world once and sends the
request as each role inside a savepoint that is rolled back, so roles never see each other's
writes.
"""

import json

import pytest
from django.conf import settings
from django.db import transaction
from django.urls import reverse

from aftersales import clock
from tests import matrix
from tests.matrix import REGISTRY, ROLES, Endpoint, Read, Route, Write, mirror

matrix.load()
ROUTES = matrix.discover()
CASES = sorted((name, method) for name, ep in REGISTRY.items() for method in ep.ops)


def test_every_route_and_method_is_registered():
    """A new endpoint cannot skip the matrix: register it in ``tests/matrix/<app>.py``."""
    missing = sorted(f"{name} ({ROUTES[name].route})" for name in set(ROUTES) - set(REGISTRY))
    stale = sorted(set(REGISTRY) - set(ROUTES))
    methods = []
    for name in sorted(set(ROUTES) & set(REGISTRY)):
        served, declared = ROUTES[name].methods, set(REGISTRY[name].ops)
        if served is not None and served != declared:
            methods.append(f"{name}: serves {sorted(served)}, registered {sorted(declared)}")
    assert not missing, f"routes not registered in any tests/matrix/<app>.py: {missing}"
    assert not stale, f"registered but no such route: {stale}"
    assert not methods, "methods differ: " + "; ".join(methods)


def test_discovery_sees_router_and_page_routes():
    assert {"me", "merchant-list", "merchant-detail", "api-key-revoke", "my:home"} <= set(ROUTES)
    assert ROUTES["merchant-detail"].kwargs == ("pk",)
    assert ROUTES["merchant-list"].methods == {"get", "post"}
    assert not any(name.startswith("admin:") for name in ROUTES)


def rows_in(route, op, response):
    """The identities of the rows a list response shows (API ids, or the page's text)."""
    if not route.is_api:
        return response.content.decode()
    try:
        data = response.json()
    except ValueError:
        return None
    results = data.get("results") if isinstance(data, dict) else data
    if not isinstance(results, list):
        return None
    return {row.get(op.row_field) for row in results if isinstance(row, dict)}


def shows(seen, row):
    return row in seen if seen is not None else False


def verdict(
    *,
    route: Route,
    endpoint: Endpoint,
    method,
    role,
    status,
    location="",
    seen=None,
    target_row=None,
    foreign_row=None,
    changed=None,
):
    """Everything wrong with one response, as a list of sentences (empty: as it should be)."""
    op = endpoint.ops[method]
    allowed = role in op.allowed
    problems = []

    def bad(text):
        problems.append(f"{endpoint.name} {method.upper()} as {role}: {text} (got {status})")

    if isinstance(op, Write):
        if op.reads_only and changed:
            bad("A READ IN A POST CHANGED DATA")
        elif allowed and changed is False and not op.reads_only:
            bad("allowed write changed nothing")
        if not allowed and changed:
            bad("REFUSED WRITE CHANGED DATA")
    if endpoint.own_auth and not allowed:
        if status != 401:
            bad("an endpoint with its own authentication must answer 401 without it")
        return problems
    signed_out = role == "anonymous" or (not route.is_api and role in matrix.KEY_ROLES)
    if signed_out and not allowed:
        if route.is_api and status != 401:
            bad("anonymous API call must answer 401")
        if not route.is_api and not (status == 302 and location.startswith(settings.LOGIN_URL)):
            bad("signed-out page visit must redirect to the login page")
        return problems
    if isinstance(op, Write):
        if allowed:
            if status not in op.status:
                bad(f"allowed write must answer {op.status}")
        elif op.callers_own:
            if status not in op.status and status not in (403, 404):
                bad(f"action on the caller's own rows must answer {op.status}, 403 or 404")
        elif route.is_object and role not in endpoint.readers:
            if status != 404:
                bad("object outside the caller's scope must answer 404")
        elif status not in (403, 404, 405):
            bad("refused write must answer 403, 404 or 405")
        return problems
    # A read.
    if route.is_object:
        if status != (op.status if allowed else 404):
            bad(
                f"allowed read must answer {op.status}"
                if allowed
                else "read outside the caller's scope must answer 404"
            )
        return problems
    if target_row is None:
        if allowed and status != op.status:
            bad(f"allowed read must answer {op.status}")
        if not allowed and status not in (403, 404):
            bad("refused read must answer 403 or 404")
        return problems
    # A list: A's row shown exactly to A's readers, B's row exactly to B's readers.
    sees_a, sees_b = allowed, role in mirror(op.allowed)
    if (sees_a or sees_b) and status != op.status:
        bad(f"reader of the list must answer {op.status}")
        return problems
    if status in (403, 404) and not (sees_a or sees_b):
        return problems
    if status != op.status:
        bad(f"list must answer {op.status}, or 403/404 to a role that sees none of it")
        return problems
    if seen is None:
        bad("list response has no results")
        return problems
    if shows(seen, target_row) != sees_a:
        bad("LEAK: shows tenant A's row" if not sees_a else "missing tenant A's row")
    if foreign_row is not None and shows(seen, foreign_row) != sees_b:
        bad("LEAK: shows tenant B's row" if not sees_b else "missing tenant B's row")
    return problems


def send(client, route, method, url, body):
    if method == "get":
        return client.get(url, body)
    if route.is_api:
        return client.generic(
            method.upper(), url, json.dumps(body), content_type="application/json"
        )
    if method == "post":
        return client.post(url, body)
    return client.generic(method.upper(), url, body)


def _call(client, route, method, url, op, world, target, body):
    """One request inside a rolled-back savepoint: ``(response, changed)``."""
    with transaction.atomic():
        try:
            before = op.state(world, target) if isinstance(op, Write) else None
            response = send(client, route, method, url, body)
            changed = op.state(world, target) != before if isinstance(op, Write) else None
            return response, changed
        finally:
            transaction.set_rollback(True)
            clock.invalidate()  # a write may have moved the sandbox clock


@pytest.mark.parametrize(("name", "method"), CASES, ids=[f"{n}-{m}" for n, m in CASES])
def test_permission_matrix(name, method, world, role_clients):
    if name not in ROUTES:
        pytest.skip("no such route (test_every_route_and_method_is_registered fails)")
    route, endpoint = ROUTES[name], REGISTRY[name]
    op = endpoint.ops[method]
    target = endpoint.build(world, world.a)
    foreign = None
    if isinstance(op, Read) and not route.is_object and target.row is not None:
        foreign = endpoint.build(world, world.b)
    missing = set(route.kwargs) - set(target.kwargs)
    assert not missing, f"{name}: setup must give URL kwargs {sorted(missing)}"
    url = reverse(name, kwargs={k: target.kwargs[k] for k in route.kwargs})

    problems = []
    for role in ROLES:
        body = op.params if isinstance(op, Read) else None
        try:
            with transaction.atomic():  # bodies may create rows (tenant B's ids): keep them
                if isinstance(op, Write):
                    body = op.body_for(world, target)
                response, changed = _call(
                    role_clients[role], route, method, url, op, world, target, body
                )
                seen = None
                if (
                    isinstance(op, Read)
                    and response.status_code == op.status
                    and target.row is not None
                ):
                    seen = rows_in(route, op, response)
                problems += verdict(
                    route=route,
                    endpoint=endpoint,
                    method=method,
                    role=role,
                    status=response.status_code,
                    location=response.get("Location", ""),
                    seen=seen,
                    target_row=target.row,
                    foreign_row=foreign.row if foreign else None,
                    changed=changed,
                )
                if (
                    isinstance(op, Write)
                    and op.foreign_body
                    and role in op.allowed & (matrix.TENANT_A_ROLES)
                ):
                    foreign_body = op.foreign_body(world, target)
                    response, changed = _call(
                        role_clients[role], route, method, url, op, world, target, foreign_body
                    )
                    if response.status_code not in (400, 403, 404) or changed:
                        problems.append(
                            f"{name} {method.upper()} as {role} aimed at tenant B: must be "
                            f"refused and change nothing (got {response.status_code}, "
                            f"changed={changed})"
                        )
                transaction.set_rollback(True)
        except Exception as exc:  # a crash is a finding, not a reason to skip the other roles
            problems.append(f"{name} {method.upper()} as {role}: raised {exc!r}")
    assert not problems, "\n".join(problems)


GRANTED = sorted(
    name for name, ep in REGISTRY.items() if ep.grant and "get" in ep.ops and name in ROUTES
)
# Endpoints whose selector ignores django-guardian grants today; strict xfail, so the day the
# selector honours the grant this list must shrink.
KNOWN_GRANT_GAPS = set()


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason="selector ignores grants"))
        if n in KNOWN_GRANT_GAPS
        else n
        for n in GRANTED
    ],
)
def test_a_granted_mediator_sees_exactly_the_granted_object(name, world, role_clients):
    from guardian.shortcuts import assign_perm

    route, endpoint = ROUTES[name], REGISTRY[name]
    target, foreign = endpoint.build(world, world.a), endpoint.build(world, world.b)
    assert target.obj is not None, f"{name}: setup must return Target(obj=...) for its grant"
    assign_perm(endpoint.grant, world.users["mediator"], target.obj)
    client = role_clients["mediator"]
    if route.is_object:
        url_b = reverse(name, kwargs={k: foreign.kwargs[k] for k in route.kwargs})
        assert client.get(url_b).status_code == 404
        url = reverse(name, kwargs={k: target.kwargs[k] for k in route.kwargs})
        assert client.get(url).status_code == 200
    else:
        response = client.get(reverse(name))
        assert response.status_code == 200
        seen = rows_in(route, endpoint.ops["get"], response)
        assert shows(seen, target.row) and not shows(seen, foreign.row)


# The verdict itself must be able to fail: a few leaks it has to catch.
FAKE_OBJECT = Route(name="x-detail", route="api/v1/x/<pk>/", kwargs=("pk",), methods=None)
FAKE_LIST = Route(name="x-list", route="api/v1/x/", kwargs=(), methods=None)
FAKE_PAGE = Route(name="my:x", route="my/x/", kwargs=(), methods=None)
FAKE = Endpoint(
    name="x",
    setup=None,
    visible=None,
    ops={
        "get": Read(frozenset({"merchant_a", "auditor"})),
        "patch": Write(frozenset({"after_sales_agent"}), touches=("x",)),
    },
)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"route": FAKE_OBJECT, "method": "get", "role": "merchant_b", "status": 403}, "404"),
        ({"route": FAKE_OBJECT, "method": "get", "role": "merchant_b", "status": 200}, "404"),
        ({"route": FAKE_OBJECT, "method": "get", "role": "anonymous", "status": 404}, "401"),
        (
            {
                "route": FAKE_OBJECT,
                "method": "patch",
                "role": "auditor",
                "status": 403,
                "changed": True,
            },
            "CHANGED",
        ),
        (
            {
                "route": FAKE_OBJECT,
                "method": "patch",
                "role": "consumer_a",
                "status": 403,
                "changed": False,
            },
            "404",
        ),
        (
            {
                "route": FAKE_OBJECT,
                "method": "patch",
                "role": "after_sales_agent",
                "status": 200,
                "changed": False,
            },
            "changed nothing",
        ),
        (
            {
                "route": FAKE_LIST,
                "method": "get",
                "role": "merchant_b",
                "status": 200,
                "seen": {1, 2},
                "target_row": 1,
                "foreign_row": 2,
            },
            "tenant A",
        ),
        (
            {
                "route": FAKE_LIST,
                "method": "get",
                "role": "merchant_a",
                "status": 200,
                "seen": {1, 2},
                "target_row": 1,
                "foreign_row": 2,
            },
            "tenant B",
        ),
        ({"route": FAKE_PAGE, "method": "get", "role": "platform_key", "status": 200}, "login"),
    ],
)
def test_verdict_catches_leaks(kwargs, expected):
    problems = verdict(endpoint=FAKE, **kwargs)
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    "kwargs",
    [
        {"route": FAKE_OBJECT, "method": "get", "role": "merchant_b", "status": 404},
        {
            "route": FAKE_OBJECT,
            "method": "patch",
            "role": "auditor",
            "status": 403,
            "changed": False,
        },
        {
            "route": FAKE_LIST,
            "method": "get",
            "role": "merchant_b",
            "status": 200,
            "seen": {2},
            "target_row": 1,
            "foreign_row": 2,
        },
        {
            "route": FAKE_LIST,
            "method": "get",
            "role": "consumer_a",
            "status": 200,
            "seen": set(),
            "target_row": 1,
            "foreign_row": 2,
        },
    ],
)
def test_verdict_accepts_correct_answers(kwargs):
    assert verdict(endpoint=FAKE, **kwargs) == []
