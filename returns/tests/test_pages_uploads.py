"""Evidence uploads on the return pages (issue 14): what a field accepts is shown, a refused file
is named on the field, and the files that passed are kept when the form has another error."""

import re

import pytest
from django.core.files.storage import default_storage

from aftersales.casefile.upload_fields import STASH_FOLDER
from aftersales.tests.uploads import pdf, photo, upload
from returns.models import ReturnRequest

from .factories_pages import signed_line

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_as(client, roles):
    def login(name):
        client.logout()
        client.force_login(roles[name])
        return client

    return login


@pytest.fixture
def alice(roles):
    return roles["consumer_a"].consumer


def _form_url(line):
    return f"/my/lines/{line.pk}/after-sales/"


def _kept_tokens(body):
    return re.findall(r'name="evidence-kept" value="([^"]+)"', body)


def test_the_field_says_what_it_accepts(client_as, alice, merchant_a):
    line = signed_line(consumer=alice, merchant=merchant_a)
    body = client_as("consumer_a").get(_form_url(line)).content.decode()
    accept = re.search(r'<input type="file" name="evidence"[^>]*accept="([^"]+)"', body).group(1)
    assert ".jpg" in accept and ".mp4" in accept and ".pdf" not in accept
    assert "可上传照片（JPG、PNG、WebP" in body and "视频（MP4、MOV、WebM" in body
    assert "data-upload-previews" in body


def test_a_pdf_is_refused_on_the_field_and_the_good_photo_is_kept(client_as, alice, merchant_a):
    line = signed_line(consumer=alice, merchant=merchant_a)
    client = client_as("consumer_a")
    response = client.post(
        _form_url(line),
        {
            "kind": "return_refund",
            "reason": "quality",
            "quantity": 1,
            "evidence": [photo("crack.jpg"), pdf("invoice.pdf")],
        },
    )
    body = response.content.decode()
    assert response.status_code == 400
    error = re.search(r'data-testid="error-evidence">([^<]+)<', body).group(1)
    assert "invoice.pdf" in error and "照片" in error
    [token] = _kept_tokens(body)
    assert "crack.jpg" in body and 'src="data:image/jpeg;base64,' in body
    assert not ReturnRequest.objects.exists()

    response = client.post(
        _form_url(line),
        {"kind": "return_refund", "reason": "quality", "quantity": 1, "evidence-kept": [token]},
    )
    assert response.status_code == 302, response.content.decode()[:300]
    request = ReturnRequest.objects.get()
    [evidence] = request.evidence.all()
    assert evidence.kind == "photo" and evidence.original_name == "crack.jpg"
    assert default_storage.listdir(STASH_FOLDER)[1] == []  # the kept copy is gone once used


def test_files_are_kept_when_another_field_has_an_error(client_as, alice, merchant_a):
    line = signed_line(consumer=alice, merchant=merchant_a)
    client = client_as("consumer_a")
    response = client.post(
        _form_url(line),
        {"kind": "return_refund", "reason": "", "quantity": 1, "evidence": [photo("a.jpg")]},
    )
    assert response.status_code in (200, 400)
    body = response.content.decode()
    assert 'data-testid="error-reason"' in body
    [token] = _kept_tokens(body)
    response = client.post(
        _form_url(line),
        {"kind": "return_refund", "reason": "", "quantity": 1, "evidence-kept": [token]},
    )
    assert _kept_tokens(response.content.decode()) == [token]  # offered again, not copied


def test_a_kept_file_of_someone_else_is_ignored(client_as, alice, bob_line):
    client = client_as("consumer_a")
    line = signed_line(consumer=alice, merchant=bob_line.order.merchant)
    response = client.post(
        _form_url(line),
        {"kind": "return_refund", "reason": "", "quantity": 1, "evidence": [photo("a.jpg")]},
    )
    [token] = _kept_tokens(response.content.decode())
    other = client_as("consumer_b")
    response = other.post(
        _form_url(bob_line),
        {"kind": "return_refund", "reason": "quality", "quantity": 1, "evidence-kept": [token]},
    )
    assert not ReturnRequest.objects.filter(evidence__isnull=False).exists()
    assert _kept_tokens(response.content.decode()) == []


def test_a_text_file_named_jpg_is_refused(client_as, alice, merchant_a):
    line = signed_line(consumer=alice, merchant=merchant_a)
    response = client_as("consumer_a").post(
        _form_url(line),
        {
            "kind": "return_refund",
            "reason": "quality",
            "quantity": 1,
            "evidence": [upload("crack.jpg", b"not a picture", "image/jpeg")],
        },
    )
    assert response.status_code == 400
    error = re.search(r'data-testid="error-evidence">([^<]+)<', response.content.decode())
    assert "crack.jpg" in error.group(1) and "损坏" in error.group(1)


@pytest.fixture
def bob_line(roles, merchant_a):
    return signed_line(consumer=roles["consumer_b"].consumer, merchant=merchant_a)
