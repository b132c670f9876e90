"""Admin: the deadline board, the deadline list, the holiday CSV import and the sandbox banner."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from aftersales import clock
from aftersales.casefile.models import TimelineEvent
from aftersales.deadlines import engine, registry
from aftersales.deadlines.models import Deadline, Holiday
from aftersales.tenancy.actors import SYSTEM
from aftersales.tenancy.models import Merchant

registry.deadline_register("test.admin", lambda d: None, "测试：后台看板")


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw-12345")
    client.force_login(user)
    return client


@pytest.fixture
def deadlines(db):
    shops = [Merchant.objects.create(code=f"adm{i}", name=f"店{i}") for i in range(3)]
    now = clock.now()
    overdue = engine.deadline_schedule(
        subject=shops[0], kind="test.admin", due_at=now - timedelta(hours=1), actor=SYSTEM
    )
    soon = engine.deadline_schedule(
        subject=shops[1], kind="test.admin", due_at=now + timedelta(hours=3), actor=SYSTEM
    )
    later = engine.deadline_schedule(
        subject=shops[2], kind="test.admin", due_at=now + timedelta(days=3), actor=SYSTEM
    )
    return overdue, soon, later


def test_board_shows_overdue_and_due_soon(staff_client, deadlines):
    overdue, soon, later = deadlines
    res = staff_client.get("/admin/aftersales/deadline/board/")
    assert res.status_code == 200
    html = res.content.decode()
    assert f"/admin/aftersales/deadline/{overdue.pk}/change/" in html
    assert f"/admin/aftersales/deadline/{soon.pk}/change/" in html
    assert f"/admin/aftersales/deadline/{later.pk}/change/" not in html
    assert "测试：后台看板" in html
    assert 'id="sandbox-clock-banner"' in html


def test_deadline_list_filters_and_cancel_action(staff_client, deadlines):
    overdue, soon, later = deadlines
    res = staff_client.get("/admin/aftersales/deadline/?due=overdue")
    assert res.status_code == 200
    assert res.context["cl"].result_count == 1
    res = staff_client.post(
        "/admin/aftersales/deadline/", {"action": "cancel_selected", "_selected_action": [soon.pk]}
    )
    assert res.status_code == 302
    assert Deadline.objects.get(pk=soon.pk).state == "cancelled"
    assert Deadline.objects.get(pk=later.pk).state == "pending"
    assert TimelineEvent.objects.filter(verb="deadline.cancelled").count() == 1


def test_holiday_csv_import_view(staff_client):
    upload = SimpleUploadedFile("h.csv", "date,kind,name\n2027-01-01,holiday,元旦\n".encode())
    res = staff_client.post("/admin/aftersales/holiday/import/", {"file": upload})
    assert res.status_code == 302
    assert Holiday.objects.get().name == "元旦"
    bad = SimpleUploadedFile("h.csv", b"date,kind\n2027-01-01,party\n")
    res = staff_client.post("/admin/aftersales/holiday/import/", {"file": bad})
    assert res.status_code == 200 and Holiday.objects.count() == 1
    res = staff_client.post(
        "/admin/aftersales/holiday/",
        {"action": "import_bundled", "_selected_action": [Holiday.objects.get().pk]},
    )
    assert Holiday.objects.count() > 30


def test_no_banner_outside_sandbox(staff_client, settings):
    settings.SANDBOX = False
    res = staff_client.get("/admin/")
    assert res.status_code == 200
    assert 'id="sandbox-clock-banner"' not in res.content.decode()


def test_logistics_queue_admin(staff_client, db):
    res = staff_client.get("/admin/orders/logisticsalert/")
    assert res.status_code == 200


def test_changelists_link_board_and_import(staff_client, db):
    html = staff_client.get("/admin/aftersales/deadline/").content.decode()
    assert "/admin/aftersales/deadline/board/" in html
    html = staff_client.get("/admin/aftersales/holiday/").content.decode()
    assert "/admin/aftersales/holiday/import/" in html


def test_case_partial_lists_pending_deadlines(deadlines):
    from django.template.loader import render_to_string

    overdue, soon, later = deadlines
    shop = Merchant.objects.get(code="adm1")
    html = render_to_string("components/_deadlines.html", {"deadlines": engine.deadlines_for(shop)})
    assert "测试：后台看板" in html
    assert clock.local(soon.due_at).strftime("%Y-%m-%d %H:%M") in html


def test_holiday_admin_edits_go_through_the_services(staff_client, db):
    """Single calendar edits leave a timeline event with the admin user, like CSV imports."""
    from datetime import date

    res = staff_client.post(
        "/admin/aftersales/holiday/add/", {"date": "2027-01-01", "kind": "holiday", "name": "元旦"}
    )
    assert res.status_code == 302
    row = Holiday.objects.get()
    events = TimelineEvent.objects.filter(subject_type="aftersales.holiday", subject_id=row.pk)
    added = events.get(verb="calendar.holiday_added")
    assert added.actor_user.username == "root"
    assert added.data == {"date": "2027-01-01", "kind": "holiday", "name": "元旦"}

    res = staff_client.post(
        f"/admin/aftersales/holiday/{row.pk}/change/",
        {"date": "2027-01-02", "kind": "workday", "name": "调休"},
    )
    assert res.status_code == 302
    row.refresh_from_db()
    assert (row.date, row.kind) == (date(2027, 1, 2), "workday")
    changed = events.get(verb="calendar.holiday_changed")
    assert changed.data["before"]["kind"] == "holiday"
    assert changed.data["after"] == {"date": "2027-01-02", "kind": "workday", "name": "调休"}

    res = staff_client.post(f"/admin/aftersales/holiday/{row.pk}/delete/", {"post": "yes"})
    assert res.status_code == 302
    assert not Holiday.objects.exists()
    deleted = events.get(verb="calendar.holiday_deleted")
    assert deleted.actor_user.username == "root" and deleted.data["kind"] == "workday"


def test_holiday_admin_bulk_delete_records_each_row(staff_client, db):
    from datetime import date

    rows = [
        Holiday.objects.create(date=date(2027, 5, d), kind="holiday", name="劳动节") for d in (1, 2)
    ]
    res = staff_client.post(
        "/admin/aftersales/holiday/",
        {"action": "delete_selected", "_selected_action": [r.pk for r in rows], "post": "yes"},
    )
    assert res.status_code == 302
    assert not Holiday.objects.exists()
    assert sorted(
        TimelineEvent.objects.filter(verb="calendar.holiday_deleted").values_list(
            "subject_id", flat=True
        )
    ) == sorted(r.pk for r in rows)


def test_the_board_and_the_list_write_a_window_end_as_24_00(staff_client, db):
    """One way to write a deadline everywhere (RULES.md "Time"): a deadline due at 00:00
    Shanghai of 12-16 reads "12-15 24:00" on the board and in the deadline list, as on the
    portals, never "12-16 00:00"."""
    from aftersales.deadlines.rules import end_of_day, local_date

    shop = Merchant.objects.create(code="adm-24", name="店24")
    today = local_date(clock.now())
    tomorrow = today + timedelta(days=1)
    due = end_of_day(today)  # 00:00 Shanghai of tomorrow: within the board's 24 hours
    engine.deadline_schedule(subject=shop, kind="test.admin", due_at=due, actor=SYSTEM)
    written = f"{today:%Y-%m-%d} 24:00"
    for url in ("/admin/aftersales/deadline/board/", "/admin/aftersales/deadline/"):
        html = staff_client.get(url).content.decode()
        assert written in html, url
        assert f"{tomorrow:%Y-%m-%d} 00:00" not in html, url
