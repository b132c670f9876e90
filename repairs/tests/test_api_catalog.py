"""The 三包 catalog over the API: everyone signed in reads it, platform writers change it, and
every change is a version with who and when."""

import pytest

from repairs.models import SanbaoCatalogChange, SanbaoCatalogEntry

pytestmark = pytest.mark.django_db

URL = "/api/v1/sanbao-catalog/"


def test_seeded_catalog_is_readable_by_a_consumer(api):
    response = api("consumer_a").get(URL, {"code": "mobile_phone"})
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert row["parts_shortage_limit_days"] == 60
    assert row["daily_depreciation_rate"] is None and row["rate_known"] is False


def test_platform_writer_creates_then_changes_an_entry_with_versions(api, roles):
    agent = api("after_sales_agent")
    body = {
        "code": "air_conditioner",
        "name": "空调器",
        "whole_unit_months": 12,
        "main_parts": [{"name": "压缩机", "months": 72}],
    }
    created = agent.post(URL, body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["version"] == 1 and created.json()["rate_known"] is False

    entry_url = f"{URL}{created.json()['id']}/"
    changed = agent.patch(
        entry_url, {"daily_depreciation_rate": "0.080", "note": "厂家确认"}, format="json"
    )
    assert changed.status_code == 200
    assert changed.json()["daily_depreciation_rate"] == "0.080"
    assert changed.json()["version"] == 2

    again = agent.post(URL, {**body, "name": "家用空调器"}, format="json")
    assert again.status_code == 200 and again.json()["version"] == 3

    history = agent.get(f"{entry_url}changes/").json()
    assert [h["version"] for h in history] == [3, 2, 1]
    assert history[1]["changed_by"] == roles["after_sales_agent"].username
    assert history[1]["note"] == "厂家确认"
    assert history[1]["changed_fields"]["daily_depreciation_rate"]["to"] == "0.080"


@pytest.mark.parametrize(
    ("role", "status", "code"),
    [
        ("auditor", 403, "read_only_role"),
        ("merchant_a", 403, "permission_denied"),
        ("merchant_key_a", 403, "permission_denied"),
        ("consumer_a", 403, "permission_denied"),
    ],
)
def test_only_platform_writers_change_the_catalog(api, role, status, code):
    entry = SanbaoCatalogEntry.objects.get(code="lcd_tv")
    before = SanbaoCatalogChange.objects.count()
    response = api(role).patch(
        f"{URL}{entry.pk}/", {"daily_depreciation_rate": "9.000"}, format="json"
    )
    assert response.status_code == status and response.json()["code"] == code
    entry.refresh_from_db()
    assert entry.daily_depreciation_rate != 9 and SanbaoCatalogChange.objects.count() == before


def test_the_change_history_is_for_platform_staff_only(api):
    entry = SanbaoCatalogEntry.objects.get(code="lcd_tv")
    assert api("merchant_a").get(f"{URL}{entry.pk}/changes/").status_code == 404
    assert api("auditor").get(f"{URL}{entry.pk}/changes/").status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"daily_depreciation_rate": "101"}, "daily_depreciation_rate"),
        ({"main_parts": [{"name": "主板", "months": 0}]}, "main_parts"),
        ({"whole_unit_months": 0}, "whole_unit_months"),
    ],
)
def test_invalid_values_are_refused_per_field(api, body, field):
    entry = SanbaoCatalogEntry.objects.get(code="lcd_tv")
    response = api("after_sales_manager").patch(f"{URL}{entry.pk}/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_a_new_entry_needs_name_and_period(api):
    response = api("platform_key").post(URL, {"code": "half"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "catalog_entry_incomplete"
