"""Conventions every API endpoint inherits (ARCHITECTURE.md "API conventions").

The endpoints come from the permission-matrix registry (``tests.matrix``), so a new
endpoint is checked here as soon as it registers itself: the error body, 404 for unknown ids,
cursor pagination with a constant number of queries, and its place in the OpenAPI schema.
"""

import json
import re
from contextlib import contextmanager

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aftersales import clock
from tests import matrix
from tests.matrix import REGISTRY, Read, mirror

matrix.load()
ROUTES = matrix.discover()
API = sorted(name for name in REGISTRY if name in ROUTES and ROUTES[name].is_api)
API_CASES = [(name, method) for name in API for method in sorted(REGISTRY[name].ops)]
OBJECT_CASES = [(n, m) for n, m in API_CASES if ROUTES[n].is_object and "pk" in ROUTES[n].kwargs]
LISTS = [name for name in API if "get" in REGISTRY[name].ops and not ROUTES[name].is_object]
# Who acts when a test needs someone allowed: the broadest roles first.
PREFERENCE = (
    "after_sales_manager",
    "platform_key",
    "auditor",
    "merchant_a",
    "merchant_key_a",
    "consumer_a",
)
ERROR_KEYS = {"code", "message", "fields"}
UNKNOWN_PK = 987654321


def _url(name, target, **override):
    kwargs = {k: target.kwargs[k] for k in ROUTES[name].kwargs} | override
    return reverse(name, kwargs=kwargs)


def _send(client, method, url, body=None):
    if method == "get":
        return client.get(url)
    return client.generic(
        method.upper(), url, json.dumps(body or {}), content_type="application/json"
    )


def _error_body(response):
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


@contextmanager
def rolled_back():
    """A savepoint that is rolled back: setups and writes leave nothing behind."""
    with transaction.atomic():
        try:
            yield
        finally:
            transaction.set_rollback(True)
            clock.invalidate()


def test_every_api_endpoint_answers_401_with_the_error_body(world, role_clients):
    problems = []
    for name, method in API_CASES:
        endpoint, op = REGISTRY[name], REGISTRY[name].ops[method]
        if "anonymous" in op.allowed:
            continue  # a public endpoint
        with rolled_back():
            target = endpoint.build(world, world.a)
            body = op.body_for(world, target) if method != "get" else None
            response = _send(role_clients["anonymous"], method, _url(name, target), body)
        body = _error_body(response)
        if response.status_code != 401:
            problems.append(f"{name} {method}: {response.status_code}")
        elif body is None or set(body) != ERROR_KEYS or not body["code"] or not body["message"]:
            problems.append(f"{name} {method}: body {response.content[:200]!r}")
        elif not isinstance(body["fields"], dict):
            problems.append(f"{name} {method}: fields is not an object")
    assert not problems, "anonymous calls must answer 401 {code, message, fields}: " + "; ".join(
        problems
    )


def test_bad_api_key_answers_401_authentication_failed(db, client):
    response = client.get(reverse("me"), HTTP_AUTHORIZATION="Api-Key as_nope_nope")
    assert response.status_code == 401
    assert set(response.json()) == ERROR_KEYS and response.json()["code"]


@pytest.mark.parametrize(
    ("name", "method"), OBJECT_CASES, ids=[f"{n}-{m}" for n, m in OBJECT_CASES]
)
def test_unknown_id_answers_404_not_found(name, method, world, role_clients):
    endpoint, op = REGISTRY[name], REGISTRY[name].ops[method]
    role = next((r for r in PREFERENCE if r in op.allowed), None)
    if role is None:
        pytest.skip("nobody may call it")
    target = endpoint.build(world, world.a)
    body = op.body_for(world, target) if method != "get" else None
    response = _send(role_clients[role], method, _url(name, target, pk=UNKNOWN_PK), body)
    assert response.status_code == 404, response.content[:300]
    assert _error_body(response) == {
        "code": "not_found",
        "message": _error_body(response)["message"],
        "fields": {},
    }


def test_unknown_api_path_answers_404_json(db, client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert set(response.json()) == ERROR_KEYS
    assert response.json()["code"] == "not_found"


def _list_reader(op):
    """A role that sees both tenants' rows of a list, if there is one."""
    both = op.allowed & mirror(op.allowed)
    return next((r for r in PREFERENCE if r in both), None)


@pytest.mark.parametrize("name", LISTS)
def test_lists_use_cursor_pagination_with_constant_queries(name, world, role_clients):
    endpoint, op = REGISTRY[name], REGISTRY[name].ops["get"]
    assert isinstance(op, Read)
    target = endpoint.build(world, world.a)
    if target.row is None:
        pytest.skip("not a list of rows")
    endpoint.build(world, world.b)
    role = _list_reader(op) or next(r for r in PREFERENCE + tuple(op.allowed) if r in op.allowed)
    client, url = role_clients[role], _url(name, target)

    first = client.get(url, {"page_size": 1})
    assert first.status_code == 200, first.content[:300]
    data = first.json()
    assert isinstance(data, dict) and {"next", "previous", "results"} <= set(data), data
    assert len(data["results"]) <= 1
    if _list_reader(op) is None:
        return
    # At least two visible rows, one per page: later pages are reached by opaque cursors and
    # every row comes exactly once.
    assert data["next"] and "cursor=" in data["next"], data
    assert "page=" not in data["next"] and "offset=" not in data["next"]
    seen = [row.get(op.row_field) for row in data["results"]]
    for _ in range(20):
        if not data["next"]:
            break
        page = client.get(data["next"])
        assert page.status_code == 200
        data = page.json()
        seen += [row.get(op.row_field) for row in data["results"]]
    assert target.row in seen and len(seen) == len(set(seen)) >= 2, seen

    # The number of queries does not grow with the page size (no N+1). The clock offset is read
    # at most once a second: forget it before each measure, so each reads it alike.
    clock.invalidate()
    with CaptureQueriesContext(connection) as one:
        client.get(url, {"page_size": 1})
    clock.invalidate()
    with CaptureQueriesContext(connection) as two:
        client.get(url, {"page_size": 2})
    assert len(two) <= len(one), [q["sql"][:120] for q in two.captured_queries]


def _template(path):
    """``/api/v1/merchants/{id}/`` → ``/api/v1/merchants/{}/`` for comparison."""
    return re.sub(r"\{[^}]+\}", "{}", path)


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from django.test import Client

    with django_db_blocker.unblock():
        response = Client().get("/api/schema/")
    assert response.status_code == 200, response.content[:300]
    return yaml.safe_load(response.content)


def test_schema_is_openapi_3_and_lists_every_registered_endpoint(schema):
    assert str(schema["openapi"]).startswith("3.")
    assert schema["info"]["title"] and schema["info"]["version"]
    paths = {_template(p): item for p, item in schema["paths"].items()}
    problems = []
    for name in API:
        route = ROUTES[name]
        placeholder = {k: f"zz{k.replace('_', '')}zz" for k in route.kwargs}
        path = reverse(name, kwargs=placeholder)
        for value in placeholder.values():
            path = path.replace(value, "{}")
        item = paths.get(path)
        if item is None:
            problems.append(f"{name}: {path} missing")
            continue
        missing = set(REGISTRY[name].ops) - set(item)
        if missing:
            problems.append(f"{name}: {path} lacks {sorted(missing)}")
    assert not problems, "; ".join(problems)


def test_schema_documents_the_error_body_and_api_key_auth(schema):
    schemes = schema["components"]["securitySchemes"]
    assert any(s.get("type") == "apiKey" for s in schemes.values())


EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


def test_docs_load_without_external_urls(db, client):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert not EXTERNAL.search(html), EXTERNAL.search(html).group(0)
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert any("swagger-ui-bundle.js" in a for a in assets)
    for asset in assets:
        if asset.startswith("/static/"):
            assert finders.find(asset.removeprefix("/static/")), f"{asset} is not served locally"
        else:
            script = client.get(asset)
            assert script.status_code == 200, asset
            body = script.content.decode()
            assert "http://" not in body and "https://" not in body, asset


POSTS = [name for name, method in API_CASES if method == "post"]


@pytest.mark.parametrize("name", POSTS)
def test_every_post_honours_idempotency_key(name, world, role_clients):
    """Stripe's semantics: a repeat replays the first response and changes nothing more; the
    same key with another body is refused."""
    endpoint, op = REGISTRY[name], REGISTRY[name].ops["post"]
    role = next((r for r in PREFERENCE if r in op.allowed), None)
    if role is None:
        pytest.skip("nobody may call it")
    target = endpoint.build(world, world.a)
    body = op.body_for(world, target)
    client, url = role_clients[role], _url(name, target)
    headers = {"HTTP_IDEMPOTENCY_KEY": f"matrix-{name}"}

    first = client.post(url, json.dumps(body), content_type="application/json", **headers)
    assert first.status_code in op.status, first.content[:300]
    if "no-store" in first.get("Cache-Control", ""):
        pytest.skip("revealed personal data is never stored for replay")
    after_first = op.state(world, target)
    again = client.post(url, json.dumps(body), content_type="application/json", **headers)
    assert again.status_code == first.status_code
    assert again.content == first.content
    assert again.get("Idempotent-Replayed") == "true"
    assert op.state(world, target) == after_first

    other = client.post(
        url,
        json.dumps({**body, "matrix": "another body"}),
        content_type="application/json",
        **headers,
    )
    assert other.status_code == 400
    assert other.json()["code"] == "idempotency_key_reused"
