"""Evidence uploads through the API (issue 14): the content is checked, each endpoint takes only
the kinds it declares (``returns.uploads``), refusals answer a stable code with a message that
says what to do, and a refused or failed request leaves no file behind."""

import base64
from io import BytesIO
from pathlib import Path

import pytest
from django.conf import settings
from PIL import Image

from aftersales.tests.uploads import (
    GPS_IFD,
    MAKE,
    jpeg_bytes,
    mp4_bytes,
    pdf_bytes,
    upload,
)
from returns.models import ReturnEvidence, ReturnRequest
from returns.tests import factories as rf
from returns.tests.cases import case
from returns.uploads import EVIDENCE_ACCEPT

pytestmark = pytest.mark.django_db

RETURNS = "/api/v1/returns/"


@pytest.fixture
def consumer_a(roles):
    return roles["consumer_a"].consumer


def _stored_files():
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _error(response, status, code):
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert body["code"] == code, body
    return body


def _create(api, line, *files, lang="zh-hans"):
    return api("consumer_a").post(
        RETURNS,
        {"line": line.pk, "kind": "return_refund", "reason": "quality", "evidence": list(files)},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE=lang,
    )


def test_a_text_file_named_jpg_is_refused_as_corrupt_and_nothing_is_kept(
    api, merchant_a, consumer_a
):
    line = rf.signed_line(merchant=merchant_a, consumer=consumer_a)
    before = _stored_files()
    good = upload("good.jpg", jpeg_bytes(), "image/jpeg")
    fake = upload("crack.jpg", b"this is text, not a photo\n", "image/jpeg")
    body = _error(_create(api, line, good, fake), 400, "upload_corrupt")
    assert "crack.jpg" in body["message"] and "照片" in body["message"]
    assert body["fields"]["evidence"]["file"] == "crack.jpg"
    assert not ReturnRequest.objects.exists()
    assert _stored_files() == before


def test_a_pdf_where_only_photos_and_videos_are_asked_for(api, merchant_a, consumer_a):
    line = rf.signed_line(merchant=merchant_a, consumer=consumer_a)
    response = _create(api, line, upload("report.pdf", pdf_bytes(), "application/pdf"))
    body = _error(response, 400, "upload_unsupported_type")
    assert "report.pdf" in body["message"]
    assert "视频" in body["message"] and "PDF" not in body["message"]
    assert body["fields"]["evidence"]["accepted"] == ["image", "video"]


def test_the_message_follows_the_callers_language(api, merchant_a, consumer_a):
    line = rf.signed_line(merchant=merchant_a, consumer=consumer_a)
    response = _create(api, line, upload("report.pdf", pdf_bytes()), lang="en")
    message = _error(response, 400, "upload_unsupported_type")["message"]
    assert "report.pdf" in message and "photos" in message and "videos" in message
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in message), message


def test_the_evidence_endpoint_takes_a_report_but_not_as_a_photo(api, merchant_a, consumer_a):
    request = case(merchant_a, consumer_a)
    url = f"{RETURNS}{request.pk}/evidence/"
    r = api("merchant_a").post(
        url, {"file": upload("inspection.pdf", pdf_bytes())}, format="multipart"
    )
    assert r.status_code == 201, r.content
    assert [e["kind"] for e in r.json()] == ["report"]
    r = api("merchant_a").post(
        url, {"file": upload("inspection.pdf", pdf_bytes()), "kind": "photo"}, format="multipart"
    )
    _error(r, 400, "upload_unsupported_type")


def test_a_real_mp4_is_a_video_and_a_fake_one_is_corrupt(api, merchant_a, consumer_a):
    request = case(merchant_a, consumer_a)
    url = f"{RETURNS}{request.pk}/evidence/"
    r = api("consumer_a").post(url, {"file": upload("unbox.mp4", mp4_bytes())}, format="multipart")
    assert r.status_code == 201, r.content
    assert [e["kind"] for e in r.json()] == ["video"]
    fake = upload("unbox.mp4", b"<html>not a video</html>")
    _error(api("consumer_a").post(url, {"file": fake}, format="multipart"), 400, "upload_corrupt")


def test_too_large_says_the_limit(api, merchant_a, consumer_a, monkeypatch):
    request = case(merchant_a, consumer_a)
    monkeypatch.setitem(EVIDENCE_ACCEPT["add"].max_bytes, "image", 100)
    r = api("consumer_a").post(
        f"{RETURNS}{request.pk}/evidence/",
        {"evidence": [{"filename": "big.jpg", "content_base64": _b64(jpeg_bytes())}]},
        format="json",
    )
    body = _error(r, 400, "upload_too_large")
    assert "big.jpg" in body["message"] and "100" in body["message"]


def _b64(content):
    return base64.b64encode(content).decode()


def test_exif_and_gps_never_reach_the_stored_photo(api, merchant_a, consumer_a):
    request = case(merchant_a, consumer_a)
    data = jpeg_bytes(exif={MAKE: "SecretCam", GPS_IFD: {1: "N", 2: (31.0, 14.0, 0.0)}})
    r = api("consumer_a").post(
        f"{RETURNS}{request.pk}/evidence/",
        {"evidence": [{"filename": "gps.jpg", "content_base64": _b64(data)}]},
        format="json",
    )
    assert r.status_code == 201, r.content
    stored = ReturnEvidence.objects.get(pk=r.json()[0]["id"])
    content = stored.file.read()
    assert b"SecretCam" not in content
    assert dict(Image.open(BytesIO(content)).getexif()) == {}
