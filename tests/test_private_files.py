"""Uploaded files behind access checks (issue 19): every FileField stores under a random name,
nothing is served from /media/, and each file is answered only to callers who may see its case
(aftersales.casefile.files)."""

import importlib
import re
from io import BytesIO

import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.test import Client, override_settings
from django.urls import clear_url_caches
from PIL import Image

import config.urls
from aftersales.tenancy.actors import SYSTEM
from aftersales.tenancy.models import PlatformGroup
from aftersales.tests import factories as f
from aftersales.tests.uploads import png_bytes
from repairs import services as repairs
from repairs.tests import factories_pages as fp
from tests import PRODUCT

pytestmark = pytest.mark.django_db

PNG = png_bytes()


def same_picture(content):
    """The stored photo is PNG re-encoded without metadata (issue 14): the same picture."""
    return Image.open(BytesIO(content)).size == Image.open(BytesIO(PNG)).size


RANDOM = re.compile(r"^[a-z/]+/[0-9a-f]{32}(\.[a-z0-9]+)?$")


def _file_fields():
    for model in apps.get_models():
        if model._meta.app_label not in PRODUCT and model._meta.app_label != "aftersales":
            continue
        for field in model._meta.local_fields:
            if isinstance(field, models.FileField):
                yield model, field


def test_every_upload_field_stores_under_a_random_name():
    fields = list(_file_fields())
    assert len(fields) >= 3  # return evidence, repair evidence, provider licences
    for model, field in fields:
        assert callable(field.upload_to), f"{model.__name__}.{field.name}: fixed upload_to"
        first = field.upload_to(model(), "张三 身份证 13812345678.JPG")
        second = field.upload_to(model(), "张三 身份证 13812345678.JPG")
        assert RANDOM.match(first), first
        assert first != second and first.endswith(".jpg")


@pytest.fixture
def techs(db):
    return {"p1": fp.provider_user("tech-one"), "p2": fp.provider_user("tech-two")}


@pytest.fixture
def shops(techs):
    return {
        "p1": fp.provider(name="顺达家电维修中心", licence="LIC-1", staff=[techs["p1"]]),
        "p2": fp.provider(name="远航维修", licence="LIC-2", staff=[techs["p2"]]),
    }


def _client(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def repair_with_photo(roles, merchant_a, techs, shops):
    consumer = roles["consumer_a"].consumer
    card = fp.card(consumer=consumer, merchant=merchant_a)
    repair = repairs.repair_request(
        actor=SYSTEM,
        card=card,
        fault_description="屏幕有竖线",
        evidence=[SimpleUploadedFile("front.png", PNG, content_type="image/png")],
    )
    repair = repairs.repair_assign(repair=repair, provider=shops["p1"], actor=SYSTEM)
    return repair, repair.evidence.get()


def test_repair_evidence_is_stored_without_the_case_or_the_file_name(repair_with_photo):
    _repair, item = repair_with_photo
    assert RANDOM.match(item.file.name)  # folder, then 32 random hex digits: no id, no name
    assert item.display_name == "front.png"  # the uploader's name is shown, not stored on disk


def test_media_urls_serve_nothing_even_with_debug_on(repair_with_photo, roles):
    _repair, item = repair_with_photo
    try:
        with override_settings(DEBUG=True):
            debug_urls = importlib.reload(config.urls)
            routes = [str(p.pattern) for p in debug_urls.urlpatterns]
    finally:
        importlib.reload(config.urls)
        clear_url_caches()
    assert not [r for r in routes if "media" in r]
    for client in (Client(), _client(roles["consumer_a"])):
        assert client.get(f"/media/{item.file.name}").status_code == 404


@pytest.mark.parametrize(
    "who, portal, status",
    [
        ("consumer_a", "my", 200),
        ("consumer_b", "my", 404),
        ("merchant_a", "merchant", 200),
        ("merchant_b", "merchant", 404),
    ],
)
def test_repair_evidence_pages_answer_only_who_sees_the_repair(
    repair_with_photo, roles, who, portal, status
):
    repair, item = repair_with_photo
    url = f"/{portal}/repairs/{repair.pk}/evidence/{item.pk}/"
    response = _client(roles[who]).get(url)
    assert response.status_code == status
    if status == 200:
        assert same_picture(b"".join(response.streaming_content))
        assert response["Cache-Control"] == "private, no-store"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert 'filename="front.png"' in response["Content-Disposition"]


def test_the_assigned_provider_sees_the_evidence_and_another_does_not(repair_with_photo, techs):
    repair, item = repair_with_photo
    url = f"/provider/repairs/{repair.pk}/evidence/{item.pk}/"
    assert _client(techs["p1"]).get(url).status_code == 200
    assert _client(techs["p2"]).get(url).status_code == 404


def test_the_api_links_each_repair_evidence_to_its_checked_download(repair_with_photo, api, roles):
    repair, item = repair_with_photo
    evidence = api("consumer_a").get(f"/api/v1/repair-orders/{repair.pk}/").json()["evidence"]
    url = evidence[0]["download_url"]
    assert url == f"/api/v1/repair-orders/{repair.pk}/evidence/{item.pk}/"
    assert "file" not in evidence[0] and evidence[0]["name"] == "front.png"
    assert same_picture(b"".join(api("consumer_a").get(url).streaming_content))
    assert api("consumer_b").get(url).status_code == 404
    assert api(None).get(url).status_code == 401
    assert api("platform_key").get(url).status_code == 200


def test_a_missing_evidence_item_of_a_visible_repair_is_404(repair_with_photo, api):
    repair, item = repair_with_photo
    assert api("consumer_a").get(f"/api/v1/repair-orders/{repair.pk}/evidence/0/").status_code == (
        404
    )


@override_settings(PRIVATE_FILES_ACCEL_REDIRECT="/protected-media/")
def test_behind_nginx_the_view_hands_the_file_over_with_x_accel_redirect(repair_with_photo, roles):
    repair, item = repair_with_photo
    response = _client(roles["consumer_a"]).get(f"/my/repairs/{repair.pk}/evidence/{item.pk}/")
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"/protected-media/{item.file.name}"
    assert response.content == b""
    assert response["Content-Type"] == "image/png"
    # The check still comes first.
    other = _client(roles["consumer_b"]).get(f"/my/repairs/{repair.pk}/evidence/{item.pk}/")
    assert other.status_code == 404 and "X-Accel-Redirect" not in other


def test_provider_licences_are_served_to_staff_through_the_admin_only(roles, shops):
    provider = shops["p1"]
    provider.licence_file.save("营业执照.pdf", ContentFile(b"%PDF-1.4 licence"))
    assert RANDOM.match(provider.licence_file.name)
    url = f"/admin/repairs/repairprovider/{provider.pk}/licence/"
    from aftersales.tenancy.groups import platform_groups_ensure

    platform_groups_ensure()
    staff = _client(roles[PlatformGroup.AUDITOR])
    assert b"".join(staff.get(url).streaming_content) == b"%PDF-1.4 licence"
    page = staff.get(f"/admin/repairs/repairprovider/{provider.pk}/change/").content.decode()
    assert url in page and provider.licence_file.name not in page
    outsider = _client(roles["merchant_a"]).get(url)
    assert outsider.status_code == 302 and "/admin/login/" in outsider["Location"]


def test_admin_repair_evidence_links_to_the_checked_view(repair_with_photo, roles):
    repair, item = repair_with_photo
    from aftersales.tenancy.groups import platform_groups_ensure

    platform_groups_ensure()
    staff = _client(roles[PlatformGroup.AGENT])
    url = f"/admin/repairs/repairorder/{repair.pk}/evidence/{item.pk}/"
    page = staff.get(f"/admin/repairs/repairorder/{repair.pk}/change/").content.decode()
    assert url in page and item.file.name not in page
    assert same_picture(b"".join(staff.get(url).streaming_content))
    no_staff = f.UserFactory(username="not-staff")
    assert _client(no_staff).get(url).status_code == 302
