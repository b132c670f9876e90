"""The message centre of each portal (issue 14): unread count in the header, the inbox with its
filters, opening a message (read, linked to its case), mark all read, channels per kind."""

import re

import pytest

from aftersales.messaging.models import Notification, NotificationPreference
from aftersales.messaging.notifications import notify
from aftersales.tenancy.actors import SYSTEM
from aftersales.tenancy.models import ConsumerProfile

pytestmark = pytest.mark.django_db


def _tell(user, event="notification.test", **context):
    return notify(recipient_user=user, event=event, context={"name": "A", **context}, actor=SYSTEM)


def _unread_badge(html):
    found = re.search(r'data-testid="unread-count"[^>]*>(\d+)<', html)
    return int(found.group(1)) if found else 0


def test_consumer_inbox_count_open_and_mark_all_read(client, roles):
    user = roles["consumer_a"]
    first, second = _tell(user), _tell(user, event="return.refunded", refund_amount="9.00")
    _tell(roles["consumer_b"])  # someone else's: never shown
    client.force_login(user)
    html = client.get("/my/messages/").content.decode()
    assert _unread_badge(html) == 2 and html.count('data-testid="message-row"') == 2
    assert "测试通知：A" in html and "退款成功 ¥9.00" in html
    only = client.get("/my/messages/?kind=refunds").content.decode()
    assert only.count('data-testid="message-row"') == 1 and "退款成功" in only
    page = client.get(f"/my/messages/{first.pk}/").content.decode()
    assert "测试通知：A" in page and _unread_badge(page) == 1
    first.refresh_from_db()
    assert first.read_at is not None
    read = client.get("/my/messages/?state=read").content.decode()
    assert read.count('data-testid="message-row"') == 1
    response = client.post("/my/messages/read-all/")
    assert response.status_code == 302 and response.url == "/my/messages/"
    assert not Notification.objects.filter(user=user, read_at__isnull=True).exists()
    assert Notification.objects.filter(user=roles["consumer_b"], read_at__isnull=True).exists()
    assert second.pk  # read with the rest
    assert _unread_badge(client.get("/my/orders/").content.decode()) == 0


def test_message_links_to_its_case_and_others_messages_are_404(client, roles):
    from returns.tests import factories as rf

    line = rf.signed_line(consumer=ConsumerProfile.objects.get(user=roles["consumer_a"]))
    request, _consumer, merchant = rf.request_at(line, "requested")
    from returns import services

    services.return_request_reject(request=request, actor=merchant, reason="不符合条件")
    note = Notification.objects.get(user=roles["consumer_a"], event="return.rejected")
    client.force_login(roles["consumer_a"])
    page = client.get(f"/my/messages/{note.pk}/").content.decode()
    assert f'href="/my/returns/{request.pk}/"' in page
    client.force_login(roles["consumer_b"])
    assert client.get(f"/my/messages/{note.pk}/").status_code == 404
    client.force_login(roles["merchant_a"])
    assert client.get(f"/merchant/messages/{note.pk}/").status_code == 404
    assert client.get("/my/messages/").status_code == 404


def test_mark_all_read_is_a_post(client, roles):
    client.force_login(roles["consumer_a"])
    assert client.get("/my/messages/read-all/").status_code == 405


def test_merchant_staff_choose_channels_per_kind(client, roles):
    user = roles["merchant_a"]
    client.force_login(user)
    html = client.get("/merchant/messages/preferences/").content.decode()
    assert 'name="refunds_email"' in html and 'name="arbitration_sms"' in html
    response = client.post(
        "/merchant/messages/preferences/", {"returns_email": "on", "refunds_sms": "on"}
    )
    assert response.status_code == 302
    pref = NotificationPreference.objects.get(user=user)
    assert pref.channels_for("refunds") == (False, True)
    assert pref.channels_for("returns") == (True, False)
    assert pref.channels_for("arbitration") == (False, False)


def test_english_page_and_english_message(client, roles):
    user = roles["consumer_a"]
    ConsumerProfile.objects.filter(user=user).update(preferred_language="en")
    _tell(user)
    client.force_login(user)
    client.cookies["django_language"] = "en"
    html = client.get("/my/messages/", headers={"accept-language": "en"}).content.decode()
    assert "Test notification: A" in html


def test_provider_staff_have_a_message_centre(client):
    from repairs.tests.factories import provider_with_staff

    _provider, (tech,) = provider_with_staff(staff=("msg-tech",))
    _tell(tech)
    client.force_login(tech)
    html = client.get("/provider/messages/").content.decode()
    assert _unread_badge(html) >= 1 and "测试通知：A" in html
    assert client.get("/provider/messages/preferences/").status_code == 200
