"""Every object read of openapi.yaml on a real row, as both keys, against the schema (issue 19).

schemathesis (``tests/test_schema_conformance.py``) generates ids that rarely name a row, so
here each ``GET`` of one object reads the object the permission matrix builds for it
(``tests/matrix``), as the platform key and merchant A's key, and its answer is validated
against the schema: status, content type, headers and body.
"""

import re

import pytest
from django.urls import resolve
from werkzeug.test import Client

from config.wsgi import application
from tests.matrix import REGISTRY
from tests.test_schema_conformance import schema


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
    path, world, wsgi_in_test_transaction
):
    """Generated ids rarely name a row: read the matrix's own object, as both keys."""
    endpoint = REGISTRY[resolve(re.sub(r"\{[^}]+\}", "1", path)).url_name]
    target = endpoint.build(world, world.a)
    client = Client(application)
    operation = schema[path]["GET"]
    for role in ("platform_key", "merchant_key_a"):
        auth = {"Authorization": f"Api-Key {world.users[role]}"}
        response = client.get(_url(path, target), headers=auth)
        assert response.status_code < 500, response.get_data()[:300]
        operation.validate_response(response)


def test_every_operation_lists_its_error_responses_with_the_error_body():
    error = {"$ref": "#/components/schemas/Error"}
    assert set(schema.raw_schema["components"]["schemas"]["Error"]["required"]) == {
        "code",
        "message",
        "fields",
    }
    missing = []
    for path, item in schema.raw_schema["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            expected = {"400", "404", "500"}
            if any(operation.get("security", [{}])):
                expected |= {"401", "403"}
            if method != "get":
                expected.add("409")
            if "requestBody" in operation:
                expected |= {"413", "415"}
            for status in expected:
                listed = operation["responses"].get(status, {})
                if listed.get("content", {}).get("application/json", {}).get("schema") != error:
                    missing.append(f"{method} {path} {status}")
    assert not missing, missing
