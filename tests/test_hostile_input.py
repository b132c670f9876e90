"""Every bad input is a 4xx in the documented error body (issue 19).

The three 500s an attacker found (deeply nested JSON, a NUL byte in a filter, a tampered
pagination cursor) are regression tests here, with the other inputs that answered HTML or a
misleading message: an oversized body, a 1,000-character file name, negative stock, a zoneless
datetime for the sandbox clock, and the body of a 500.
"""

import base64
import json
import logging
import os
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse

from aftersales import clock
from aftersales.api import parsers
from aftersales.api.middleware import REQUEST_ID_HEADER
from aftersales.api.views import MeView
from aftersales.errors import InvalidInput
from aftersales.tenancy.actors import SYSTEM
from aftersales.tests.uploads import jpeg_bytes
from orders.models import Sku
from orders.services import sku_upsert
from tests import matrix
from tests.matrix import REGISTRY, mirror

matrix.load()
ROUTES = matrix.discover()
LISTS = sorted(
    name
    for name in REGISTRY
    if name in ROUTES
    and ROUTES[name].is_api
    and not ROUTES[name].is_object
    and "get" in REGISTRY[name].ops
)
SHANGHAI = ZoneInfo("Asia/Shanghai")
ERROR_KEYS = {"code", "message", "fields"}
PREFERENCE = ("platform_key", "after_sales_manager", "auditor", "merchant_key_a", "consumer_a")


def _error(response, status, code):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == ERROR_KEYS, body
    assert body["code"] == code, body
    assert body["message"] and isinstance(body["fields"], dict)
    return body


def _post_json(client, url, raw, **extra):
    return client.generic("POST", url, raw, content_type="application/json", **extra)


# -- deeply nested JSON ---------------------------------------------------------------------------


def test_a_hundred_thousand_brackets_answer_400_json_too_deep(world, role_clients):
    response = _post_json(role_clients["platform_key"], reverse("merchant-list"), "[" * 100_000)
    _error(response, 400, "json_too_deep")


def test_nesting_at_the_limit_is_parsed_one_more_level_is_refused(world, role_clients):
    client, url = role_clients["platform_key"], reverse("merchant-list")
    depth = parsers.MAX_JSON_DEPTH
    at_limit = _post_json(client, url, "[" * depth + "]" * depth)
    assert at_limit.json()["code"] == "invalid"  # parsed, then refused by the serializer
    over = _post_json(client, url, '{"a":' * (depth + 1) + "1" + "}" * (depth + 1))
    _error(over, 400, "json_too_deep")


def test_json_depth_counts_brackets_outside_strings_only():
    assert parsers.json_depth(b'{"a": [[1], {"b": "]]]"}]}') == 0  # few brackets: fast path
    deep = b"[" * 70 + b"]" * 70
    assert parsers.json_depth(deep) == 70
    quoted = b'["' + b"[" * 100 + b'\\"[" ]'
    assert parsers.json_depth(quoted) == 1


def test_invalid_json_says_so(world, role_clients):
    response = _post_json(role_clients["platform_key"], reverse("merchant-list"), "{nope")
    body = _error(response, 400, "malformed_request")
    assert "JSON" in body["message"]


# -- NUL and lone surrogates ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "deadline-list?kind=a%00b",
        "deadline-list?subject_type=return%00",
        "logistics-alert-list?reason=%00",
        "logistics-alert-list?status=open%00",
        "order-list?status=%00",
        "order-list?x%00y=1",
    ],
)
def test_a_nul_in_any_filter_answers_400_nul_character(query, world, role_clients):
    name, _, params = query.partition("?")
    response = role_clients["platform_key"].get(f"{reverse(name)}?{params}")
    _error(response, 400, "nul_character")


def test_an_encoded_percent_is_not_a_nul(world, role_clients):
    response = role_clients["platform_key"].get(reverse("order-list") + "?search=%2500")
    assert response.status_code == 200, response.content[:300]


@pytest.mark.parametrize(
    ("value", "code"),
    [("甲\x00乙", "nul_character"), ("\ud800", "invalid_unicode")],
    ids=["nul", "lone-surrogate"],
)
def test_a_nul_or_lone_surrogate_in_any_body_string_answers_400(value, code, world, role_clients):
    client, url = role_clients["platform_key"], reverse("merchant-list")
    for body in ({"code": value, "name": "x"}, {"code": "ok", "extra": {"deep": [value]}}):
        _error(_post_json(client, url, json.dumps(body)), 400, code)
    key_with_nul = json.dumps({value: 1})
    _error(_post_json(client, url, key_with_nul), 400, code)


def test_a_nul_in_a_form_field_answers_400(world, role_clients):
    response = role_clients["platform_key"].post(
        reverse("merchant-list"), {"code": "a\x00", "name": "x"}
    )
    _error(response, 400, "nul_character")


# -- tampered cursors -----------------------------------------------------------------------------


def _cursor(text):
    return base64.b64encode(text.encode()).decode()


TAMPERED = {
    "p-abc": _cursor("p=abc"),
    "p-notadate": _cursor("p=notadate"),
    "p-40-digits": _cursor("p=" + "9" * 40),
    "p-negative-40-digits": _cursor("p=-" + "9" * 40),
    "p-nul": _cursor("p=1\x00"),
    "r-not-a-number": _cursor("r=x&p=1"),
    "not-base64": "%%%not-base64",
    "not-ascii": "游标",
}


def _reader(op):
    both = op.allowed & mirror(op.allowed)
    return next((r for r in PREFERENCE if r in both), None) or next(
        r for r in PREFERENCE + tuple(sorted(op.allowed)) if r in op.allowed
    )


@pytest.mark.parametrize("name", LISTS)
def test_a_tampered_cursor_answers_400_cursor_invalid_on_every_list(name, world, role_clients):
    endpoint, op = REGISTRY[name], REGISTRY[name].ops["get"]
    target = endpoint.build(world, world.a)
    kwargs = {k: target.kwargs[k] for k in ROUTES[name].kwargs}
    client, url = role_clients[_reader(op)], reverse(name, kwargs=kwargs)
    params = dict(op.params or {})  # what the endpoint needs besides a cursor
    first = client.get(url, {**params, "page_size": 1})
    assert first.status_code == 200, first.content[:300]
    if not isinstance(first.json(), dict) or "next" not in first.json():
        pytest.skip("not a paginated list")
    for label, cursor in TAMPERED.items():
        response = client.get(url, {**params, "cursor": cursor})
        assert response.status_code == 400, (label, response.status_code, response.content[:200])
        _error(response, 400, "cursor_invalid")


def test_a_genuine_cursor_still_pages(world, role_clients):
    client = role_clients["platform_key"]
    endpoint = REGISTRY["deadline-list"]
    endpoint.build(world, world.a)
    endpoint.build(world, world.b)
    first = client.get(reverse("deadline-list"), {"page_size": 1}).json()
    assert first["next"], first
    assert client.get(first["next"]).status_code == 200


# -- sizes: body, file name -----------------------------------------------------------------------


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
@pytest.mark.parametrize("idempotent", [False, True], ids=["plain", "idempotency-key"])
def test_a_body_over_the_limit_answers_413_body_too_large(idempotent, world, role_clients):
    extra = {"HTTP_IDEMPOTENCY_KEY": "big-1"} if idempotent else {}
    body = json.dumps({"code": "big", "name": "x" * 1001})
    response = _post_json(role_clients["platform_key"], reverse("merchant-list"), body, **extra)
    body = _error(response, 413, "body_too_large")
    assert body["fields"] == {"limit_bytes": 1000}


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_body_at_the_limit_is_read(world, role_clients):
    filler = 1000 - len(json.dumps({"code": "at-limit", "name": ""}))
    body = json.dumps({"code": "at-limit", "name": "x" * filler})
    assert len(body) == 1000
    response = _post_json(role_clients["platform_key"], reverse("merchant-list"), body)
    assert response.status_code == 400  # read and validated: the name is too long
    assert response.json()["code"] == "invalid"


@override_settings(DATA_UPLOAD_MAX_NUMBER_FIELDS=5)
def test_too_many_form_fields_answer_400_too_many_fields(world, role_clients):
    form = {f"f{i}": "x" for i in range(6)}
    response = role_clients["platform_key"].post(reverse("merchant-list"), form)
    _error(response, 400, "too_many_fields")


def _upload(world, role_clients, filename):
    target = REGISTRY["return-evidence"].build(world, world.a)
    url = reverse("return-evidence", kwargs={"pk": target.kwargs["pk"]})
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile(filename, jpeg_bytes(), content_type="image/jpeg")
    return role_clients["consumer_a"].post(url, {"file": upload, "note": "x"})


def test_a_thousand_character_file_name_answers_400_file_name_too_long(world, role_clients):
    response = _upload(world, role_clients, "a" * 996 + ".jpg")
    body = _error(response, 400, "file_name_too_long")
    assert "JSON" not in body["message"]


def test_a_file_name_at_the_limit_is_not_refused_for_its_length(world, role_clients):
    response = _upload(world, role_clients, "a" * (parsers.MAX_FILE_NAME_LENGTH - 4) + ".jpg")
    assert response.status_code == 201, response.content[:300]
    over = _upload(world, role_clients, "a" * (parsers.MAX_FILE_NAME_LENGTH - 3) + ".jpg")
    _error(over, 400, "file_name_too_long")


def test_an_unparsable_multipart_body_says_multipart_not_json(world, role_clients):
    response = role_clients["platform_key"].generic(
        "POST",
        reverse("merchant-list"),
        b"--xyz\r\nnot a part",
        content_type="multipart/form-data; boundary=",
    )
    body = _error(response, 400, "malformed_multipart")
    assert "JSON" not in body["message"]


# -- a 500 ----------------------------------------------------------------------------------------


def test_a_500_says_it_was_logged_under_the_request_id(world, role_clients, monkeypatch, caplog):
    def broken(self, request):
        raise RuntimeError("boom")

    monkeypatch.setattr(MeView, "get", broken)
    client = role_clients["platform_key"]
    client.raise_request_exception = False
    with caplog.at_level(logging.ERROR, logger="aftersales.api"):
        response = client.get(reverse("me"))
    body = _error(response, 500, "server_error")
    request_id = response[REQUEST_ID_HEADER]
    assert body["fields"] == {"request_id": request_id}
    assert request_id in body["message"] and "retry" not in body["message"].lower()
    assert any(request_id in record.getMessage() for record in caplog.records)


def test_a_request_id_from_the_proxy_is_kept_and_a_bad_one_replaced(world, role_clients):
    client = role_clients["platform_key"]
    kept = client.get(reverse("me"), HTTP_X_REQUEST_ID="lb-1234abcd")
    assert kept[REQUEST_ID_HEADER] == "lb-1234abcd"
    replaced = client.get(reverse("me"), HTTP_X_REQUEST_ID="<script>")
    assert replaced[REQUEST_ID_HEADER] != "<script>" and len(replaced[REQUEST_ID_HEADER]) == 32


# -- small gaps -----------------------------------------------------------------------------------


def test_negative_stock_is_refused_and_zero_is_stored(world, role_clients):
    target = REGISTRY["sku-detail"].build(world, world.a)
    url = reverse("sku-detail", kwargs={"pk": target.kwargs["pk"]})
    client = role_clients["merchant_key_a"]
    refused = client.patch(url, {"stock": -1}, content_type="application/json")
    body = _error(refused, 400, "invalid")
    assert "stock" in body["fields"]
    stored = client.patch(url, {"stock": 0}, content_type="application/json")
    assert stored.status_code == 200 and stored.json()["stock"] == 0


def test_the_sku_service_refuses_negative_stock_whoever_calls_it(world):
    sku = REGISTRY["sku-detail"].build(world, world.a).kwargs["pk"]
    sku = Sku.objects.get(pk=sku)
    with pytest.raises(InvalidInput) as refused:
        sku_upsert(product=sku.product, code=sku.code, stock=-1, sku=sku, actor=SYSTEM)
    assert refused.value.code == "stock_negative"
    sku.refresh_from_db()
    assert sku.stock == 10
    sku_upsert(product=sku.product, code=sku.code, stock=0, sku=sku, actor=SYSTEM)
    sku.refresh_from_db()
    assert sku.stock == 0


def test_the_sandbox_clock_refuses_a_datetime_without_a_zone(world, role_clients):
    client, url = role_clients["platform_key"], reverse("sandbox-clock")
    tomorrow = (clock.now() + timedelta(days=1)).astimezone(SHANGHAI).replace(microsecond=0)
    naive = tomorrow.replace(tzinfo=None).isoformat()
    refused = client.post(url, {"set_to": naive}, content_type="application/json")
    body = _error(refused, 400, "invalid")
    assert "set_to" in body["fields"]
    moved = client.post(url, {"set_to": tomorrow.isoformat()}, content_type="application/json")
    assert moved.status_code == 200, moved.content[:300]
    # Read as Shanghai time (+08:00), not as UTC: that would be eight hours off.
    assert abs(datetime.fromisoformat(moved.json()["now"]) - tomorrow) < timedelta(minutes=5)


# -- what gunicorn refuses before Django ----------------------------------------------------------


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _raw_request(port, head, attempts=100):
    for _ in range(attempts):  # until gunicorn listens (bounded)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(head)
                chunks = []
                while chunk := sock.recv(65536):
                    chunks.append(chunk)
                return b"".join(chunks)
        except ConnectionRefusedError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not start")


@pytest.mark.integration
@pytest.mark.parametrize("threads", ["1", "2"], ids=["sync", "gthread"])
def test_gunicorn_answers_an_over_long_header_or_url_in_the_json_error_body(threads):
    port = _free_port()
    env = os.environ | {
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": threads,
        "GUNICORN_ACCESSLOG": "/dev/null",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        header = b"GET /api/v1/me/ HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n"
        answer = _raw_request(port, header)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 431"), head
        assert b"Content-Type: application/json" in head
        assert json.loads(body)["code"] == "header_too_large"
        assert set(json.loads(body)) == ERROR_KEYS

        line = b"GET /api/v1/me/?q=" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
        head, _, body = _raw_request(port, line).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 414"), head
        assert json.loads(body)["code"] == "uri_too_long"
    finally:
        server.terminate()
        server.wait(timeout=30)
