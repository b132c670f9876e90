"""The shell every portal page shares: sign-in/out, the no-role page, the HTML 404, CSP."""

import re

import pytest

from aftersales.tests import factories as f

pytestmark = pytest.mark.django_db


def test_signed_in_user_skips_the_login_page(client, roles):
    client.force_login(roles["merchant_a"])
    response = client.get("/accounts/login/")
    assert response.status_code == 302
    assert response.url == "/"
    assert client.get("/").url == "/merchant/"


def test_logout_is_a_post_and_returns_to_sign_in(client, roles):
    client.force_login(roles["consumer_a"])
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response.url == "/accounts/login/"
    assert client.get("/my/orders/").status_code == 302


def test_user_without_a_role_sees_the_no_role_page(client):
    user = f.UserFactory(username="nobody")
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 403
    assert "您的账号尚未分配角色" in response.content.decode()


def test_unknown_page_is_an_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "页面不存在" in response.content.decode()


def test_pages_carry_csp_and_nonced_scripts_only(client, roles):
    client.force_login(roles["consumer_a"])
    response = client.get("/my/orders/")
    policy = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    body = response.content.decode()
    scripts = re.findall(r"<script[^>]*>", body)
    assert scripts, "htmx and portal.js are expected"
    assert all(f'nonce="{nonce}"' in tag and "src=" in tag for tag in scripts)
    assert not re.search(r"\son[a-z]+=", body), "no inline event handlers"


def test_shell_has_navigation_language_switch_logout_and_sandbox_banner(client, roles):
    client.force_login(roles["merchant_a"])
    body = client.get("/merchant/orders/").content.decode()
    assert 'href="/merchant/orders/" aria-current="page"' in body
    assert 'action="/i18n/setlang/"' in body and 'value="en"' in body
    assert 'action="/accounts/logout/"' in body
    assert "甲商家" in body  # the merchant's name in the header
    assert "sandbox-banner" in body
