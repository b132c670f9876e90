"""Repairs pages (issue 5): consumer /my/ (warranties, entitlements, repair requests, remedies),
merchant portal /merchant/ (repairs, cards, escalations) and repair providers' /provider/ pages:
scope and isolation (404), the entitlement answer, provider steps through the services, form
errors from rule codes, confirmations, countdowns and pinned query counts."""

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from aftersales import clock
from aftersales.deadlines.rules import SHANGHAI
from aftersales.tests.uploads import png_bytes
from repairs.models import RepairOrder, WarrantyEscalation

from . import factories_pages as fp

pytestmark = pytest.mark.django_db

PNG = png_bytes()


@pytest.fixture
def client_as(client, roles):
    def login(name_or_user):
        user = roles[name_or_user] if isinstance(name_or_user, str) else name_or_user
        client.force_login(user)
        return client

    return login


@pytest.fixture
def people(roles):
    return {
        "a": roles["consumer_a"].consumer,
        "b": roles["consumer_b"].consumer,
    }


@pytest.fixture
def tv(people, merchant_a):
    """Consumer A's LCD TV at merchant A, signed 30 days ago (only repair is open: G3)."""
    return fp.card(consumer=people["a"], merchant=merchant_a, serials=["SN-TV-001"])


def body(response):
    return response.content.decode()


def count(response, testid):
    return body(response).count(f'data-testid="{testid}"')


# -- consumer: warranty cards and entitlements ---------------------------------------------------


def test_consumer_lists_own_cards_with_whole_unit_and_part_ends(client_as, tv, people, merchant_b):
    other = fp.card(consumer=people["b"], merchant=merchant_b, product_name="乙的电视")
    response = client_as("consumer_a").get("/my/warranties/")
    page = body(response)
    assert response.status_code == 200
    assert count(response, "card-row") == 1
    assert tv.number in page and other.number not in page
    assert "显示屏" in page and "整机三包至" in page and "SN-TV-001" in page


def test_consumer_card_detail_explains_why_only_repair(client_as, tv):
    response = client_as("consumer_a").get(f"/my/warranties/{tv.pk}/")
    page = body(response)
    assert response.status_code == 200
    assert count(response, "remedy") == 1
    assert 'data-kind="free_repair" data-rule="G3"' in page
    assert "为什么只能维修？" in page
    # The deciding dates of G1 and G2, at 24:00 Shanghai of day 7 and day 15.
    signed = tv.signed_at.astimezone(SHANGHAI)
    day7 = (signed.date() + timedelta(days=7)).strftime("%Y-%m-%d")
    day15 = (signed.date() + timedelta(days=15)).strftime("%Y-%m-%d")
    # Consumers read the law by name, never the platform's codes (issue 14).
    assert f"退货期已于 {day7} 24:00 截止（《部分商品修理更换退货责任规定》第九条）" in page
    assert f"换货期已于 {day15} 24:00 截止（《部分商品修理更换退货责任规定》第十条）" in page
    assert "（G1）" not in page and "（G2）" not in page
    assert count(response, "coverage-row") == 5  # whole unit + 4 main parts of an LCD TV
    assert 'data-testid="request-repair"' in page


def test_merchant_reads_code_and_law_consumer_in_english_reads_no_chinese(client_as, tv):
    """Issue 14: merchants see the rule code with the law; the EN switch shows the entitlement
    answer, the coverage table and the law in English, with no internal code."""
    merchant = body(client_as("merchant_a").get(f"/merchant/warranties/{tv.pk}/"))
    assert "G1：《部分商品修理更换退货责任规定》第九条" in merchant
    client = client_as("consumer_a")
    english = client.get(f"/my/warranties/{tv.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    page = body(english)
    assert '<html lang="en">' in page
    answer = page[page.index('data-testid="entitlements"') : page.index('data-testid="coverage"')]
    answer = re.sub(r"<[^>]+>", " ", answer)
    assert "Article 9 of the Provisions on Liability for Repair" in answer
    assert "Why only a repair?" in answer and "G1" not in answer
    assert not re.search(r"[\u4e00-\u9fff]", answer), answer
    coverage = body(english).split('data-testid="coverage"', 1)[1].split("</section>", 1)[0]
    assert "Display panel" in coverage and not re.search(r"[\u4e00-\u9fff]", coverage), coverage


def test_within_seven_days_return_shows_the_full_refund(client_as, people, merchant_a):
    card = fp.card(consumer=people["a"], merchant=merchant_a, signed_days_ago=2)
    response = client_as("consumer_a").get(f"/my/warranties/{card.pk}/")
    page = body(response)
    assert 'data-kind="return" data-rule="G1"' in page
    assert "¥3000.00" in page
    assert "为什么只能维修" not in page
    assert 'data-testid="choose-remedy"' in page


def test_card_of_another_consumer_is_404(client_as, tv):
    client = client_as("consumer_b")
    assert client.get(f"/my/warranties/{tv.pk}/").status_code == 404
    assert client.get(f"/my/warranties/{tv.pk}/repair/").status_code == 404
    assert client.get("/my/warranties/999999/").status_code == 404


# -- consumer: repair request --------------------------------------------------------------------


def test_consumer_requests_a_repair_with_photos(client_as, tv):
    client = client_as("consumer_a")
    page = client.get(f"/my/warranties/{tv.pk}/repair/")
    assert page.status_code == 200 and "免费维修" in body(page)
    photo = SimpleUploadedFile("fault.png", PNG, content_type="image/png")
    response = client.post(
        f"/my/warranties/{tv.pk}/repair/",
        {"fault_description": "开机黑屏，指示灯闪烁", "service_mode": "on_site", "photos": [photo]},
    )
    repair = RepairOrder.objects.get(card=tv)
    assert response.status_code == 302 and response.url == f"/my/repairs/{repair.pk}/"
    assert repair.service_mode == "on_site" and repair.entitlement_rule == "G3"
    assert repair.evidence.count() == 1
    detail = client.get(response.url)
    assert detail.status_code == 200
    assert repair.number in body(detail) and "提交维修申请" in body(detail)
    assert 'data-testid="action-cancel"' in body(detail)


def test_request_form_errors_are_clear(client_as, tv):
    client = client_as("consumer_a")
    response = client.post(f"/my/warranties/{tv.pk}/repair/", {"fault_description": "坏"})
    assert response.status_code == 400
    page = body(response)
    assert 'data-testid="form-errors"' in page and "服务方式" in page
    assert not RepairOrder.objects.exists()


def test_second_open_repair_is_refused_with_the_rule_message(client_as, tv):
    fp.repair(card=tv)
    response = client_as("consumer_a").post(
        f"/my/warranties/{tv.pk}/repair/",
        {"fault_description": "又坏了，无法开机", "service_mode": "send_in"},
    )
    assert response.status_code == 400
    assert "该商品已有进行中的维修单" in body(response)
    assert RepairOrder.objects.filter(card=tv).count() == 1


def test_request_from_an_order_line_picks_the_unit(client_as, people, merchant_a):
    first = fp.card(consumer=people["a"], merchant=merchant_a, quantity=2)
    client = client_as("consumer_a")
    url = f"/my/order-lines/{first.order_line_id}/repair/"
    page = client.get(url)
    assert page.status_code == 200 and 'name="card"' in body(page)
    second = first.order_line.warranty_cards.exclude(pk=first.pk).get()
    response = client.post(
        url, {"card": second.pk, "fault_description": "遥控失灵无法开机", "service_mode": "send_in"}
    )
    assert response.status_code == 302
    assert RepairOrder.objects.get().card_id == second.pk
    refused = client_as("consumer_b").get(url)
    assert refused.status_code == 404 and 'data-testid="no-card"' in body(refused)


def test_cancel_needs_the_confirmation(client_as, tv):
    repair = fp.repair(card=tv)
    client = client_as("consumer_a")
    refused = client.post(f"/my/repairs/{repair.pk}/cancel/", {})
    assert refused.status_code == 400 and "请先勾选确认" in body(refused)
    repair.refresh_from_db()
    assert repair.status == "requested"
    done = client.post(f"/my/repairs/{repair.pk}/cancel/", {"confirm": "on"})
    assert done.status_code == 302
    repair.refresh_from_db()
    assert repair.status == "cancelled"


def test_consumer_confirms_the_end_of_a_returned_repair(client_as, tv, shops):
    repair = fp.finished_repair(card=tv, provider=shops["p1"], received_days_ago=10, days=3)
    client = client_as("consumer_a")
    page = body(client.get(f"/my/repairs/{repair.pk}/"))
    assert 'data-testid="action-close"' in page and 'data-testid="action-cancel"' not in page
    refused = client.post(f"/my/repairs/{repair.pk}/close/", {})
    assert refused.status_code == 400 and "请先勾选确认" in body(refused)
    assert client.post(f"/my/repairs/{repair.pk}/close/", {"confirm": "on"}).status_code == 302
    repair.refresh_from_db()
    assert repair.status == "closed"
    # Cancelling is no longer open: the service's rule answers, nothing changes.
    late = client.post(f"/my/repairs/{repair.pk}/cancel/", {"confirm": "on"})
    assert late.status_code == 400
    repair.refresh_from_db()
    assert repair.status == "closed"


def test_consumer_repair_of_someone_else_is_404(client_as, tv):
    repair = fp.repair(card=tv)
    client = client_as("consumer_b")
    assert client.get(f"/my/repairs/{repair.pk}/").status_code == 404
    assert client.post(f"/my/repairs/{repair.pk}/cancel/", {"confirm": "on"}).status_code == 404
    repair.refresh_from_db()
    assert repair.status == "requested"


# -- consumer: remedies --------------------------------------------------------------------------


def test_consumer_chooses_a_granted_exchange(client_as, people, merchant_a):
    card = fp.card(consumer=people["a"], merchant=merchant_a, signed_days_ago=10)
    client = client_as("consumer_a")
    page = client.get(f"/my/warranties/{card.pk}/remedy/")
    assert page.status_code == 200 and 'value="exchange"' in body(page)
    # day 10: the G1 return closed; the G2 exchange, or a G8 refund with depreciation instead
    assert 'value="return"' in body(page)
    assert "（《部分商品修理更换退货责任规定》第十三条）" in body(page)
    assert 'data-testid="alternative-hint"' not in body(page)  # the same model is in stock
    refused = client.post(f"/my/warranties/{card.pk}/remedy/", {"remedy": "exchange"})
    assert refused.status_code == 400 and "请先勾选确认" in body(refused)
    response = client.post(
        f"/my/warranties/{card.pk}/remedy/", {"remedy": "exchange", "confirm": "on"}
    )
    assert response.status_code == 302, body(response)
    card.refresh_from_db()
    assert card.pending_remedy == "exchange"
    detail = body(client.get(f"/my/warranties/{card.pk}/"))
    assert 'data-testid="pending-remedy"' in detail and "免费换货" in detail
    assert 'data-testid="choose-remedy"' not in detail
    again = body(client.get(f"/my/warranties/{card.pk}/remedy/"))
    assert 'data-testid="remedy-form"' not in again and 'data-testid="pending-remedy"' in again


def test_g7_day_10_out_of_stock_offers_another_spec_or_a_full_refund(client_as, people, merchant_a):
    from orders.tests.factories import SkuFactory

    card = fp.card(consumer=people["a"], merchant=merchant_a, signed_days_ago=10, stock=0)
    other = SkuFactory(product=card.sku.product, price=card.unit_price, stock=2, spec="75 英寸")
    client = client_as("consumer_a")
    page = body(client.get(f"/my/warranties/{card.pk}/remedy/"))
    assert 'data-testid="alternative-hint"' in page and "75 英寸" in page
    assert "同型号同规格无货，换其他型号或规格（《部分商品修理更换退货责任规定》第十三条）" in page
    assert "可退 ¥3000.00" in page  # G7: in full, no depreciation
    missing = client.post(
        f"/my/warranties/{card.pk}/remedy/", {"remedy": "exchange", "confirm": "on"}
    )
    assert missing.status_code == 400 and "请选择换成的其他型号或规格" in body(missing)
    response = client.post(
        f"/my/warranties/{card.pk}/remedy/",
        {"remedy": "exchange", "exchange_sku": other.pk, "confirm": "on"},
    )
    assert response.status_code == 302, body(response)
    card.refresh_from_db()
    assert card.pending_remedy == "exchange"


def test_third_fault_opens_exchange_and_g8_refund_with_the_worked_example(
    client_as, people, merchant_a, shops
):
    """G4 + G8: LCD TV ¥3,000 at 0.10 %/day, day 100, 2 × 5 days in repair → ¥2,730."""
    card = fp.card(consumer=people["a"], merchant=merchant_a, signed_days_ago=100)
    fp.finished_repair(card=card, provider=shops["p1"], received_days_ago=80, days=5)
    fp.finished_repair(card=card, provider=shops["p1"], received_days_ago=60, days=5)
    response = client_as("consumer_a").get(f"/my/warranties/{card.pk}/")
    page = body(response)
    assert 'data-kind="exchange" data-rule="G4"' in page
    assert 'data-kind="return" data-rule="G8"' in page
    assert "¥2730.00" in page and "100 天" in page and "10 天" in page
    assert "为什么只能维修" not in page
    merchant = body(client_as("merchant_a").get(f"/merchant/warranties/{card.pk}/"))
    assert "¥2730.00" in merchant


def test_g8_without_a_depreciation_rate_says_why_no_amount(client_as, people, merchant_a):
    phone_shop = fp.provider(name="手机维修站", licence="LIC-PHONE", codes=("mobile_phone",))
    card = fp.card(
        consumer=people["a"],
        merchant=merchant_a,
        code="mobile_phone",
        product_name="智能手机 X1",
        signed_days_ago=100,
    )
    fp.finished_repair(card=card, provider=phone_shop, received_days_ago=80, days=5)
    fp.finished_repair(card=card, provider=phone_shop, received_days_ago=60, days=5)
    page = body(client_as("consumer_a").get(f"/my/warranties/{card.pk}/"))
    assert 'data-kind="return" data-rule="G8"' in page
    assert 'data-testid="refund-error"' in page and "日折旧率尚未设置" in page
    remedy = body(client_as("consumer_a").get(f"/my/warranties/{card.pk}/remedy/"))
    assert 'value="exchange"' in remedy and 'value="return"' not in remedy
    assert "日折旧率尚未设置" in remedy


def test_remedy_page_without_a_granted_remedy_offers_none(client_as, tv):
    response = client_as("consumer_a").get(f"/my/warranties/{tv.pk}/remedy/")
    assert response.status_code == 200
    assert 'data-testid="no-remedy"' in body(response)
    posted = client_as("consumer_a").post(
        f"/my/warranties/{tv.pk}/remedy/", {"remedy": "return", "confirm": "on"}
    )
    assert posted.status_code == 400


# -- merchant portal -----------------------------------------------------------------------------


def test_merchant_sees_only_own_repairs_with_masked_consumers(
    client_as, tv, people, merchant_b, shops
):
    mine = fp.repair(card=tv, provider=shops["p1"], received_days_ago=3)
    other_card = fp.card(consumer=people["b"], merchant=merchant_b, product_name="乙的电视")
    theirs = fp.repair(card=other_card)
    client = client_as("merchant_a")
    response = client.get("/merchant/repairs/")
    page = body(response)
    assert response.status_code == 200
    assert mine.number in page and theirs.number not in page
    assert "张*丰" in page or "*" in page
    assert client.get(f"/merchant/repairs/{theirs.pk}/").status_code == 404
    assert client.get(f"/merchant/warranties/{other_card.pk}/").status_code == 404
    assert client.get(f"/merchant/repairs/{mine.pk}/").status_code == 200
    assert client_as("merchant_b").get(f"/merchant/repairs/{mine.pk}/").status_code == 404


def test_merchant_list_highlights_overdue_with_countdown(client_as, tv, shops):
    late = fp.repair(card=tv, provider=shops["p1"], received_days_ago=40)
    client = client_as("merchant_a")
    response = client.get("/merchant/repairs/")
    page = body(response)
    assert 'data-overdue="1"' in page and "已超时" in page
    assert count(response, "countdown") >= 1
    overdue = client.get("/merchant/repairs/?overdue=overdue")
    assert late.number in body(overdue)
    soon = client.get("/merchant/repairs/?overdue=due_soon")
    assert late.number not in body(soon)


def test_g6_timeout_reaches_every_page(client_as, people, merchant_a, shops):
    """Past 30 repairer days the sweep opens the escalation: the consumer is offered the
    exchange, the merchant sees it in the portal's queue, the row is marked escalated."""
    from aftersales.deadlines.engine import deadline_sweep

    tv = fp.card(consumer=people["a"], merchant=merchant_a, signed_days_ago=60)
    late = fp.repair(card=tv, provider=shops["p1"], received_days_ago=31)
    deadline_sweep()
    esc = WarrantyEscalation.objects.get(repair=late)
    assert esc.rule == "G6"
    consumer = client_as("consumer_a")
    repair_page = body(consumer.get(f"/my/repairs/{late.pk}/"))
    assert 'data-testid="escalation"' in repair_page and "维修超期" in repair_page
    assert f"/my/warranties/{tv.pk}/remedy/" in repair_page
    remedy = body(consumer.get(f"/my/warranties/{tv.pk}/remedy/"))
    assert 'value="exchange"' in remedy
    merchant = client_as("merchant_a")
    assert late.number in body(merchant.get("/merchant/escalations/"))
    listing = body(merchant.get("/merchant/repairs/?overdue=overdue"))
    assert late.number in listing and 'data-testid="escalated"' in listing


def test_merchant_filters_and_searches(client_as, tv, people, merchant_a, shops):
    received = fp.repair(card=tv, provider=shops["p1"], received_days_ago=2)
    other = fp.card(consumer=people["a"], merchant=merchant_a, product_name="客厅电视 65 英寸")
    requested = fp.repair(card=other)
    client = client_as("merchant_a")
    by_status = body(client.get("/merchant/repairs/?status=requested"))
    assert requested.number in by_status and received.number not in by_status
    by_q = body(client.get("/merchant/repairs/?q=客厅电视"))
    assert requested.number in by_q and received.number not in by_q
    open_ = body(client.get("/merchant/repairs/?status=open"))
    assert requested.number in open_ and received.number in open_


def test_merchant_assigns_to_an_admitted_provider(client_as, tv, shops, techs):
    repair = fp.repair(card=tv)
    client = client_as("merchant_a")
    page = client.get(f"/merchant/repairs/{repair.pk}/")
    assert 'data-testid="assign-form"' in body(page) and "顺达家电维修中心" in body(page)
    response = client.post(f"/merchant/repairs/{repair.pk}/assign/", {"provider": shops["p1"].pk})
    assert response.status_code == 302
    repair.refresh_from_db()
    assert repair.status == "assigned" and repair.provider_id == shops["p1"].pk
    assert techs["p1"].has_perm("repairs.view_repairorder", repair)


def test_merchant_card_page_shows_the_same_answer(client_as, tv):
    response = client_as("merchant_a").get(f"/merchant/warranties/{tv.pk}/")
    page = body(response)
    assert response.status_code == 200
    assert 'data-rule="G3"' in page and "为什么只能维修？" in page
    assert 'data-testid="request-repair"' not in page


def test_merchant_sees_escalations_about_them(client_as, tv, people, merchant_b):
    esc = WarrantyEscalation.objects.create(
        card=tv,
        merchant=tv.merchant,
        consumer=tv.consumer,
        rule="G6",
        granted_remedies=["exchange", "return"],
        explanation="修理者责任时间超过 30 日",
    )
    other = fp.card(consumer=people["b"], merchant=merchant_b)
    WarrantyEscalation.objects.create(
        card=other, merchant=merchant_b, consumer=other.consumer, rule="G5", explanation="乙"
    )
    response = client_as("merchant_a").get("/merchant/escalations/")
    assert response.status_code == 200
    assert count(response, "escalation-row") == 1
    assert tv.number in body(response) and other.number not in body(response)
    assert esc.get_status_display() in body(response)


# -- repair providers ----------------------------------------------------------------------------


def test_provider_sees_only_repairs_assigned_to_it(client_as, tv, people, merchant_a, shops, techs):
    mine = fp.repair(card=tv, provider=shops["p1"])
    other_card = fp.card(consumer=people["a"], merchant=merchant_a, product_name="卧室电视")
    theirs = fp.repair(card=other_card, provider=shops["p2"])
    unassigned = fp.repair(
        card=fp.card(consumer=people["a"], merchant=merchant_a, product_name="书房电视")
    )
    client = client_as(techs["p1"])
    assert client.get("/provider/").url == "/provider/repairs/"
    page = body(client.get("/provider/repairs/"))
    assert mine.number in page
    assert theirs.number not in page and unassigned.number not in page
    assert client.get(f"/provider/repairs/{theirs.pk}/").status_code == 404
    assert client.get(f"/provider/repairs/{unassigned.pk}/").status_code == 404
    step = client.post(
        f"/provider/repairs/{theirs.pk}/receive/", {"occurred_at": "2026-01-01T10:00"}
    )
    assert step.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "assigned"


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("consumer_a", "/provider/repairs/"),
        ("merchant_a", "/provider/repairs/"),
        ("after_sales_agent", "/provider/repairs/"),
    ],
)
def test_other_roles_get_404_on_provider_pages(client_as, role, path):
    assert client_as(role).get(path).status_code == 404


def test_provider_staff_get_404_on_consumer_and_merchant_pages(client_as, shops, techs):
    client = client_as(techs["p1"])
    assert client.get("/my/warranties/").status_code == 404
    assert client.get("/merchant/repairs/").status_code == 404


def test_provider_staff_sign_in_lands_on_their_repairs(client, shops, techs):
    techs["p1"].set_password("pass-1234")
    techs["p1"].save()
    response = client.post("/accounts/login/", {"username": "tech-one", "password": "pass-1234"})
    assert response.status_code == 302
    assert client.get("/").url == "/provider/"
    page = client.get("/provider/repairs/")
    assert page.status_code == 200 and "顺达家电维修中心" in body(page)


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get("/provider/repairs/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/?next=")


def _local(instant):
    return instant.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


def test_provider_records_receipt_with_its_own_time_then_the_steps(client_as, tv, shops, techs):
    repair = fp.repair(card=tv, provider=shops["p1"], ago=timedelta(days=1))
    client = client_as(techs["p1"])
    detail = client.get(f"/provider/repairs/{repair.pk}/")
    assert 'data-testid="action-receive"' in body(detail)
    received = clock.now().replace(second=0, microsecond=0) - timedelta(hours=5)
    response = client.post(
        f"/provider/repairs/{repair.pk}/receive/", {"occurred_at": _local(received)}
    )
    assert response.status_code == 302
    repair.refresh_from_db()
    assert repair.status == "received" and repair.received_at == received
    page = body(client.get(f"/provider/repairs/{repair.pk}/"))
    assert "修理者责任时间超过 30 日" in page  # the G6 deadline and its countdown
    assert 'data-testid="countdown"' in page

    now = _local(clock.now())
    assert (
        client.post(
            f"/provider/repairs/{repair.pk}/diagnose/",
            {"occurred_at": now, "diagnosis": "背光板损坏"},
        ).status_code
        == 302
    )
    assert (
        client.post(
            f"/provider/repairs/{repair.pk}/parts-wait-start/",
            {"occurred_at": now, "parts": "背光板"},
        ).status_code
        == 302
    )
    repair.refresh_from_db()
    assert repair.status == "waiting_parts" and repair.parts_wait_since is not None
    waiting = body(client.get(f"/provider/repairs/{repair.pk}/"))
    assert re.search(r"已暂停，剩余 (29|30) 天", waiting)  # G6 stops while parts are awaited
    assert "缺件期限" in waiting and 'data-testid="parts-wait"' in waiting  # G5 from 送修
    assert (
        client.post(
            f"/provider/repairs/{repair.pk}/parts-wait-end/", {"occurred_at": now}
        ).status_code
        == 302
    )
    response = client.post(
        f"/provider/repairs/{repair.pk}/result/",
        {
            "occurred_at": now,
            "result": "fixed",
            "parts_replaced": "背光板 × 1",
            "labour_fee": "0",
            "parts_fee": "0",
            "is_paid": "0",
        },
    )
    assert response.status_code == 302
    repair.refresh_from_db()
    assert repair.status == "fixed" and repair.parts_replaced == [{"name": "背光板", "quantity": 1}]
    refused = client.post(f"/provider/repairs/{repair.pk}/return/", {"occurred_at": now})
    assert refused.status_code == 400 and "请先勾选确认" in body(refused)
    assert (
        client.post(
            f"/provider/repairs/{repair.pk}/return/", {"occurred_at": now, "confirm": "on"}
        ).status_code
        == 302
    )
    repair.refresh_from_db()
    assert repair.status == "returned"


def test_provider_receipt_in_the_future_is_a_form_error(client_as, tv, shops, techs):
    repair = fp.repair(card=tv, provider=shops["p1"])
    future = clock.now() + timedelta(days=2)
    response = client_as(techs["p1"]).post(
        f"/provider/repairs/{repair.pk}/receive/", {"occurred_at": _local(future)}
    )
    assert response.status_code == 400
    assert "时间不能晚于现在" in body(response)
    repair.refresh_from_db()
    assert repair.status == "assigned"


def test_paid_result_needs_a_g11_reason(client_as, tv, shops, techs):
    repair = fp.repair(card=tv, provider=shops["p1"], received_days_ago=1)
    response = client_as(techs["p1"]).post(
        f"/provider/repairs/{repair.pk}/result/",
        {
            "occurred_at": _local(clock.now()),
            "result": "fixed",
            "labour_fee": "80",
            "parts_fee": "0",
            "is_paid": "1",
            "paid_reason": "",
        },
    )
    assert response.status_code == 400 and "G11" in body(response)
    repair.refresh_from_db()
    assert repair.status == "received"


def test_diagnosis_with_a_g11_reason_makes_the_repair_paid(client_as, tv, shops, techs):
    repair = fp.repair(card=tv, provider=shops["p1"], received_days_ago=1)
    response = client_as(techs["p1"]).post(
        f"/provider/repairs/{repair.pk}/diagnose/",
        {
            "occurred_at": _local(clock.now()),
            "diagnosis": "进水导致主板腐蚀",
            "paid_reason": "misuse",
        },
    )
    assert response.status_code == 302
    repair.refresh_from_db()
    assert repair.is_paid and repair.paid_reason == "misuse"
    # The result form starts as paid with the reason found.
    page = body(client_as(techs["p1"]).get(f"/provider/repairs/{repair.pk}/"))
    result_form = page[page.index('data-testid="action-result"') :]
    assert '<option value="misuse" selected>' in result_form
    assert re.search(r'<input type="radio" name="is_paid" value="1"[^>]*checked', result_form)
    card = body(client_as("consumer_a").get(f"/my/warranties/{tv.pk}/"))
    assert 'data-rule="G11"' in card and "只能付费维修" in card


def test_htmx_filter_answers_only_the_results(client_as, tv, shops):
    fp.repair(card=tv, provider=shops["p1"], received_days_ago=1)
    response = client_as("merchant_a").get(
        "/merchant/repairs/?status=received",
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="repair-results",
    )
    page = body(response)
    assert response.status_code == 200
    assert page.lstrip().startswith('<section id="repair-results"')
    assert "<html" not in page and count(response, "repair-row") == 1
    assert "HX-Target" in response["Vary"]


def test_provider_attaches_an_inspection_report(client_as, tv, shops, techs):
    repair = fp.repair(card=tv, provider=shops["p1"], received_days_ago=1)
    report = SimpleUploadedFile("report.pdf", b"%PDF-1.4 report", content_type="application/pdf")
    client = client_as(techs["p1"])
    response = client.post(
        f"/provider/repairs/{repair.pk}/evidence/",
        {"kind": "report", "file": report, "caption": "检测报告"},
    )
    assert response.status_code == 302
    assert repair.evidence.get().kind == "report"
    other = fp.repair(
        card=fp.card(consumer=tv.consumer, merchant=tv.merchant, product_name="另一台"),
        provider=shops["p2"],
    )
    refused = client.post(
        f"/provider/repairs/{other.pk}/evidence/",
        {"kind": "photo", "file": SimpleUploadedFile("x.png", PNG, content_type="image/png")},
    )
    assert refused.status_code == 404 and not other.evidence.exists()


def test_step_not_open_in_this_status_shows_the_rule_error(client_as, tv, shops, techs):
    repair = fp.repair(card=tv, provider=shops["p1"])
    response = client_as(techs["p1"]).post(
        f"/provider/repairs/{repair.pk}/parts-wait-end/", {"occurred_at": _local(clock.now())}
    )
    assert response.status_code == 400
    assert "维修单不在等待配件状态" in body(response)


def test_provider_sees_the_reminders_of_its_repairs(client_as, tv, shops, techs):
    repair = fp.repair(card=tv, provider=shops["p1"], received_days_ago=2)
    page = body(client_as(techs["p1"]).get(f"/provider/repairs/{repair.pk}/"))
    assert "提醒维修服务商" in page  # the day-25 reminder (G6)
    consumer_page = body(client_as("consumer_a").get(f"/my/repairs/{repair.pk}/"))
    assert "提醒维修服务商" not in consumer_page


# -- query counts --------------------------------------------------------------------------------


def _many(n, *, consumer, merchant, provider):
    for i in range(n):
        c = fp.card(consumer=consumer, merchant=merchant, product_name=f"电视 {i}")
        fp.repair(card=c, provider=provider, received_days_ago=1 + i % 3)


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("consumer_a", "/my/repairs/"),
        ("merchant_a", "/merchant/repairs/"),
        ("p1", "/provider/repairs/"),
        ("consumer_a", "/my/warranties/"),
        ("merchant_a", "/merchant/warranties/"),
    ],
)
def test_list_queries_do_not_grow_with_the_page(
    client_as, people, merchant_a, shops, techs, who, path, django_assert_max_num_queries
):
    user = techs[who] if who in techs else who
    client = client_as(user)
    _many(2, consumer=people["a"], merchant=merchant_a, provider=shops["p1"])
    client.get(path)  # warm up the session and the user
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        assert client.get(path).status_code == 200
    _many(6, consumer=people["a"], merchant=merchant_a, provider=shops["p1"])
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(path)
    assert response.status_code == 200
    assert count(response, "repair-row") + count(response, "card-row") == 8


def test_deadline_text_reads_window_ends_as_24_00():
    from datetime import UTC, datetime

    from repairs.views import deadline_text

    # 2026-11-28 16:00 UTC = 2026-11-29 00:00 Shanghai: the end of 11-28.
    assert deadline_text(datetime(2026, 11, 28, 16, 0, tzinfo=UTC)) == "2026-11-28 24:00"
    assert deadline_text(datetime(2026, 11, 28, 15, 59, tzinfo=UTC)) == "2026-11-28 23:59"


def test_pages_render_in_english_too(client_as, tv, shops, techs):
    """The lazy labels and formatted texts survive the English switch (no crash, 200)."""
    from django.conf import settings

    repair = fp.repair(card=tv, provider=shops["p1"], received_days_ago=2)
    consumer = client_as("consumer_a")
    consumer.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    for path in (f"/my/warranties/{tv.pk}/", f"/my/repairs/{repair.pk}/", "/my/repairs/"):
        response = consumer.get(path)
        assert response.status_code == 200 and 'lang="en"' in body(response)
    provider = client_as(techs["p1"])
    provider.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert provider.get(f"/provider/repairs/{repair.pk}/").status_code == 200


def test_return_within_seven_days_goes_to_the_returns_flow(client_as, people, merchant_a):
    card = fp.card(consumer=people["a"], merchant=merchant_a, signed_days_ago=3)
    client = client_as("consumer_a")
    page = body(client.get(f"/my/warranties/{card.pk}/remedy/"))
    assert 'value="return"' in page and "可退 ¥3000.00" in page
    response = client.post(
        f"/my/warranties/{card.pk}/remedy/", {"remedy": "return", "confirm": "on"}
    )
    assert response.status_code == 302, body(response)
    card.refresh_from_db()
    assert card.pending_remedy == "return" and card.return_request_id is not None
    detail = body(client.get(f"/my/warranties/{card.pk}/"))
    assert f"/my/returns/{card.return_request_id}/" in detail and "退货退款" in detail
