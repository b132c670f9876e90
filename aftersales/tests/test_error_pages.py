"""The pages shown when something is wrong (issue 14): the project's own 400, 403, 404, 500 and
CSRF-failure pages, in the portal's look and the visitor's language, as a production-like run
(DEBUG off, as in tests) shows them."""

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.utils import translation

from aftersales.api.errors import json_500

URLS = "aftersales.tests.urls_errors"


def _english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


# -- 500: rendered with no request and no database (the error may be the database) ------------


def test_the_500_page_renders_without_a_request_or_a_database():
    # No django_db mark: any query would fail the test.
    with translation.override("zh-hans"):
        body = render_to_string("500.html")
    assert "服务暂时出错" in body and 'href="/static/portal/portal.css"' in body
    assert "request-id" not in body
    with translation.override("en"):
        english = render_to_string("500.html", {"request_id": "abc123"})
    assert "Something went wrong" in english and "abc123" in english
    assert "服务" not in english


def test_the_500_handler_answers_the_page_without_touching_the_database(caplog):
    request = RequestFactory().get("/my/orders/")
    request.request_id = "req-42"
    with translation.override("zh-hans"):
        response = json_500(request)
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert "服务暂时出错" in body and "req-42" in body
    assert any("req-42" in record.getMessage() for record in caplog.records)


def test_the_500_handler_still_answers_json_under_the_api():
    request = RequestFactory().get("/api/v1/me/")
    request.request_id = "req-43"
    response = json_500(request)
    assert response.status_code == 500 and response["Content-Type"] == "application/json"


@pytest.mark.django_db
@pytest.mark.urls(URLS)
def test_a_failing_page_shows_the_500_page_with_its_request_id(client):
    client.raise_request_exception = False
    response = client.get("/merchant/boom/")
    assert response.status_code == 500
    body = response.content.decode()
    assert 'data-testid="error-page"' in body and "服务暂时出错" in body
    assert response["X-Request-ID"] in body
    assert "portal-merchant" in body  # the merchant portal's look, from the path alone
    english = _english(client).get("/boom/")
    assert "Something went wrong" in english.content.decode()


# -- 400, 403, 404, CSRF ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.urls(URLS)
@pytest.mark.parametrize(
    ("path", "status", "chinese", "english"),
    [
        ("/forbidden/", 403, "无权访问", "Access denied"),
        ("/suspicious/", 400, "请求无效", "Bad request"),
        ("/no-such-page/", 404, "页面不存在", "Page not found"),
    ],
)
def test_error_pages_are_the_projects_own_in_the_visitors_language(
    client, path, status, chinese, english
):
    response = client.get(path)
    assert response.status_code == status
    body = response.content.decode()
    assert 'data-testid="error-page"' in body and chinese in body
    assert 'class="lang-switch"' in body
    in_english = _english(client).get(path).content.decode()
    assert english in in_english and chinese not in in_english
    assert '<html lang="en">' in in_english


@pytest.mark.django_db
def test_a_404_under_a_portal_keeps_the_portals_look(client):
    body = client.get("/merchant/no-such-page/").content.decode()
    assert "portal-merchant" in body and "商家后台" in body
    assert "portal-provider" in client.get("/provider/nothing/").content.decode()


@pytest.mark.django_db
def test_a_csrf_failure_explains_itself_and_offers_the_page_again():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    body = response.content.decode()
    assert "页面已过期" in body and 'href="/accounts/login/"' in body
    english = _english(client).post("/accounts/login/", {"username": "x", "password": "y"})
    assert "This page has expired" in english.content.decode()
