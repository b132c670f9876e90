"""The message centre in a real Chromium (issue 14), in Chinese and in English: the unread count
in the portal header, opening a message marks it read, mark all read, and choosing the channels
of one kind of message. Messages are written in the recipient's language."""

import pytest
from playwright.sync_api import expect

from aftersales.messaging.models import NotificationPreference
from aftersales.messaging.notifications import notify
from aftersales.tenancy.actors import SYSTEM
from aftersales.tenancy.models import ConsumerProfile, User

from .conftest import SCREENSHOTS, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = {
    "zh-hans": {
        "refund": "退款成功 ¥9.00",
        "rejected": "被商家拒绝",
        "heading": "消息中心",
        "saved": "消息接收设置已保存。",
        "read_all": "全部标为已读",
    },
    "en": {
        "refund": "Refund succeeded: ¥9.00",
        "rejected": "rejected by the merchant",
        "heading": "Messages",
        "saved": "Your message settings have been saved.",
        "read_all": "Mark all as read",
    },
}


def _messages_for(user):
    context = {"number": "RR-MSG-1", "refund_amount": "9.00", "reason": "—"}
    notify(recipient_user=user, event="return.rejected", context=context, actor=SYSTEM)
    notify(recipient_user=user, event="return.refunded", context=context, actor=SYSTEM)


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_consumer_reads_messages_and_chooses_channels(new_page, shop, lang):
    alice = User.objects.get(username="alice")
    ConsumerProfile.objects.filter(user=alice).update(preferred_language=lang)
    _messages_for(alice)
    text = TEXT[lang]
    page = new_page()
    sign_in(page, "alice")
    if lang == "en":
        page.click("[data-testid=lang-en]")
        page.wait_for_load_state("domcontentloaded")
    count = page.locator("[data-testid=unread-count]")
    expect(count).to_have_text("2")

    page.click("[data-testid=nav-messages]")
    expect(page.locator("h1")).to_have_text(text["heading"])
    rows = page.locator("[data-testid=message-row]")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text(text["refund"])  # newest first
    expect(rows.nth(1)).to_contain_text(text["rejected"])
    page.screenshot(path=SCREENSHOTS / f"messages_my_{lang}.png", full_page=True)

    rows.first.locator("a").click()
    expect(page.locator("[data-testid=message-detail] h1")).to_have_text(text["refund"])
    expect(count).to_have_text("1")  # opening it read it
    page.go_back()
    page.reload()
    expect(page.locator("[data-testid=message-row][data-read=yes]")).to_have_count(1)

    page.click("[data-testid=message-read-all]")
    expect(page.locator("[data-testid=unread-count]")).to_have_count(0)
    expect(page.locator("[data-testid=message-row][data-read=no]")).to_have_count(0)

    page.click("[data-testid=message-preferences-link]")
    sms = page.locator("input[name=refunds_sms]")
    expect(sms).not_to_be_checked()
    sms.check()
    page.click("[data-testid=message-preferences-save]")
    expect(page.locator(".messages")).to_contain_text(text["saved"])
    expect(page.locator("input[name=refunds_sms]")).to_be_checked()
    expect(page.locator("input[name=returns_sms]")).not_to_be_checked()
    page.screenshot(path=SCREENSHOTS / f"messages_preferences_{lang}.png", full_page=True)
    pref = NotificationPreference.objects.get(user=alice)
    assert pref.channels_for("refunds") == (True, True)
    assert pref.channels_for("returns") == (True, False)
    assert page.csp_errors == []


def test_merchant_staff_see_their_unread_count(new_page, shop):
    staff = User.objects.get(username="shop-staff")
    _messages_for(staff)
    page = new_page()
    sign_in(page, "shop-staff")
    expect(page.locator("[data-testid=unread-count]")).to_have_text("2")
    page.click("[data-testid=nav-messages]")
    expect(page.locator("[data-testid=message-row]")).to_have_count(2)
    page.locator("[data-testid=message-row] a").first.click()
    expect(page.locator("[data-testid=unread-count]")).to_have_text("1")
