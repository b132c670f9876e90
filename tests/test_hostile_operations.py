"""Every operation of openapi.yaml, fed hostile values for each kind of parameter (issue 19).

Generated from the committed schema: for each path and method, with a platform key and a
merchant key, the test sends

- path parameters out of range (40 digits) and outside ASCII;
- every query parameter at once set to a NUL, to 2,500 characters of text outside the BMP with
  right-to-left marks, to 40 digits; and ``cursor`` alone to tampered cursors (400);
- the body the permission matrix sends (``tests/matrix``), with every string replaced by a NUL
  or by that long odd text, every number by 10^30, the body inside a list where an object is
  expected, and the whole body nested 100,000 deep;

and asserts that no answer is a 5xx and that every 4xx is the documented error body
``{"code", "message", "fields"}``. The objects the operation acts on are the matrix's, so a
body reaches the serializer rather than a 404.
"""

import base64
import json

import pytest
import yaml
from django.conf import settings
from django.db import transaction
from django.urls import Resolver404, resolve

from aftersales import clock
from tests import matrix
from tests.matrix import REGISTRY

matrix.load()
SCHEMA = yaml.safe_load((settings.BASE_DIR / "openapi.yaml").read_text())
PREFIX = ""
ROLES = ("platform_key", "merchant_key_a")
ERROR_KEYS = {"code", "message", "fields"}
METHODS = ("get", "post", "put", "patch", "delete")

OPERATIONS = [
    (path, method) for path, item in SCHEMA["paths"].items() for method in METHODS if method in item
]

NUL = "a\x00b"
UNICODE = "\u202e退货\U0001f4a5\ufffd\u0301"
LONG_UNICODE = UNICODE * 500
HUGE_NUMBER = 10**30
TAMPERED_CURSORS = [
    base64.b64encode(text).decode() for text in (b"p=abc", b"p=" + b"9" * 40, b"r=x&p=1")
]
QUERY_VALUES = {"nul": NUL, "unicode-long": UNICODE * 500, "huge": "9" * 40}


def _url_name(path):
    concrete = PREFIX + path
    for piece in path.split("/"):
        if piece.startswith("{"):
            concrete = concrete.replace(piece, "1")
    try:
        return resolve(concrete).url_name
    except Resolver404:
        return None


def _fill(template, target):
    url = PREFIX + template
    for piece in template.split("/"):
        if piece.startswith("{"):
            name = piece.strip("{}")
            kwargs = target.kwargs if target else {}
            value = kwargs.get(name, kwargs.get("pk", 1) if name in ("id", "pk") else 1)
            url = url.replace(piece, str(value))
    return url


def _hostile_paths(template):
    """The template with its parameters out of range, then outside ASCII."""
    if "{" not in template:
        return []
    out = []
    for value in ("9" * 40, "%E9%80%80"):
        url = PREFIX + template
        for piece in template.split("/"):
            if piece.startswith("{"):
                url = url.replace(piece, value)
        out.append(url)
    return out


def _replace(body, string=None, number=None):
    """``body`` with every string (or number) leaf replaced."""
    if isinstance(body, dict):
        return {k: _replace(v, string, number) for k, v in body.items()}
    if isinstance(body, list):
        return [_replace(v, string, number) for v in body]
    if isinstance(body, str) and string is not None:
        return string
    if isinstance(body, bool):
        return body
    if isinstance(body, int | float) and number is not None:
        return number
    return body


def _bodies(body):
    body = body if isinstance(body, dict) else {}
    return {
        "deep": "[" * 100_000,
        "nul": json.dumps(_replace(body, string=NUL) or {"x": NUL}),
        "unicode-long": json.dumps(_replace(body, string=LONG_UNICODE) or {"x": LONG_UNICODE}),
        "huge": json.dumps(_replace(body, number=HUGE_NUMBER) or {"x": HUGE_NUMBER}),
        "wrong-type": json.dumps([body]),
    }


def _problem(response, what):
    if response.status_code >= 500:
        return f"{what}: {response.status_code} {response.content[:200]!r}"
    if response.status_code >= 400:
        try:
            data = response.json()
        except ValueError:
            return f"{what}: {response.status_code} not JSON {response.content[:120]!r}"
        if not isinstance(data, dict) or set(data) != ERROR_KEYS:
            return f"{what}: {response.status_code} body {response.content[:200]!r}"
        if not data["code"] or not isinstance(data["fields"], dict):
            return f"{what}: {response.status_code} body {response.content[:200]!r}"
    return None


def test_every_schema_operation_resolves_to_a_registered_route():
    missing = [f"{m} {p}" for p, m in OPERATIONS if _url_name(p) not in REGISTRY]
    assert not missing, missing


@pytest.mark.parametrize(
    "path",
    sorted({p for p, _ in OPERATIONS}),
    ids=lambda p: p.removeprefix("/api/v1/").strip("/").replace("/", "."),
)
def test_hostile_values_never_answer_5xx_and_errors_have_the_error_body(path, world, role_clients):
    item = SCHEMA["paths"][path]
    endpoint = REGISTRY[_url_name(path)]
    problems = []
    with transaction.atomic():
        try:
            target = endpoint.build(world, world.a)
            for method in (m for m in METHODS if m in item):
                op = item[method]
                query = [
                    p["name"]
                    for p in op.get("parameters", []) + item.get("parameters", [])
                    if p.get("in") == "query"
                ]
                spec = endpoint.ops.get(method)
                body = (
                    spec.body_for(world, target)
                    if spec is not None and method != "get" and hasattr(spec, "body_for")
                    else None
                )
                for role in ROLES:
                    client = role_clients[role]
                    send = _sender(client, method)
                    url = _fill(path, target)
                    for hostile in _hostile_paths(path):
                        problems.append(_problem(send(hostile, None), f"{role} {method} {hostile}"))
                    if query:
                        for kind, value in QUERY_VALUES.items():
                            params = dict.fromkeys(query, value)
                            response = client.generic(
                                method.upper(), url, QUERY_STRING=_encode(params)
                            )
                            problems.append(_problem(response, f"{role} {method} ?{kind}"))
                            if kind == "nul" and response.status_code != 400:
                                problems.append(f"{role} {method} ?nul: {response.status_code}")
                    if "cursor" in query:  # alone: a bad filter would answer before the cursor
                        for cursor in TAMPERED_CURSORS:
                            response = client.generic(
                                method.upper(), url, QUERY_STRING=_encode({"cursor": cursor})
                            )
                            problems.append(_problem(response, f"{role} {method} cursor"))
                            # 400; or 403/404 for a role the list refuses before it pages
                            if response.status_code not in (400, 403, 404):
                                problems.append(f"{role} {method} cursor {cursor}: not 400")
                    if method in ("post", "put", "patch"):
                        for kind, raw in _bodies(body).items():
                            response = send(url, raw)
                            problems.append(_problem(response, f"{role} {method} body {kind}"))
        finally:
            transaction.set_rollback(True)
            clock.invalidate()
    problems = [p for p in problems if p]
    assert not problems, "\n".join(problems)


def _encode(params):
    from urllib.parse import urlencode

    return urlencode(params)


def _sender(client, method):
    def send(url, raw):
        return client.generic(method.upper(), url, raw or "", content_type="application/json")

    return send
