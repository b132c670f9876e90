"""The one check of uploaded files (``aftersales.casefile.uploads``, issue 14)."""

import zlib
from io import BytesIO

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import HttpResponse
from django.utils import translation
from PIL import Image

from aftersales.casefile import uploads
from aftersales.casefile.uploads import (
    IMAGE,
    PDF,
    VIDEO,
    Accept,
    CheckedFile,
    UploadRejected,
    check_upload,
)

from .uploads import (
    GPS_IFD,
    MAKE,
    ORIENTATION,
    jpeg_bytes,
    mp4_bytes,
    pdf,
    photo,
    png_bytes,
    upload,
    video,
    webm_bytes,
)

PHOTO_OR_VIDEO = Accept(IMAGE, VIDEO)
ANY = Accept(IMAGE, VIDEO, PDF)


def _refused(file, accept=PHOTO_OR_VIDEO, **kwargs):
    with pytest.raises(UploadRejected) as e:
        check_upload(file, accept=accept, **kwargs)
    return e.value


def test_a_text_file_named_jpg_is_refused_as_corrupt():
    e = _refused(upload("photo.jpg", b"just some text, not a picture\n", "image/jpeg"))
    assert e.code == "upload_corrupt"
    assert "photo.jpg" in e.message


def test_a_pdf_in_a_photo_or_video_field_is_refused_and_says_what_is_accepted():
    with translation.override("zh-hans"):
        e = _refused(pdf("invoice.pdf"))
    assert e.code == "upload_unsupported_type"
    assert "invoice.pdf" in e.message
    assert "照片" in e.message and "视频" in e.message and "MP4" in e.message
    assert e.fields == {"file": {"file": "invoice.pdf", "accepted": ["image", "video"]}}


def test_messages_are_in_one_language():
    with translation.override("en"):
        e = _refused(pdf("invoice.pdf"))
        big = _refused(photo("big.jpg"), accept=Accept(IMAGE, max_bytes={IMAGE: 100}))
    for message in (e.message, big.message):
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in message), message
    assert "photo" in e.message.lower() and "video" in e.message.lower()
    assert "big.jpg" in big.message


def test_a_pdf_where_documents_are_allowed():
    checked = check_upload(pdf("report.pdf"), accept=ANY)
    assert checked.upload_kind == PDF
    assert checked.read().startswith(b"%PDF-")


def test_a_fake_pdf_is_corrupt():
    assert _refused(upload("report.pdf", b"<html>"), accept=ANY).code == "upload_corrupt"


def test_a_truncated_image_is_corrupt():
    data = jpeg_bytes(size=(200, 150))
    assert _refused(upload("cut.jpg", data[: len(data) // 2])).code == "upload_corrupt"
    png = png_bytes(size=(200, 150))
    assert _refused(upload("cut.png", png[:60])).code == "upload_corrupt"


def test_exif_and_gps_are_stripped_and_the_orientation_applied():
    data = jpeg_bytes(
        size=(40, 20),
        exif={ORIENTATION: 6, MAKE: "SecretCam", GPS_IFD: {1: "N", 2: (31.0, 14.0, 0.0)}},
    )
    assert Image.open(BytesIO(data)).getexif().get(MAKE) == "SecretCam"
    checked = check_upload(upload("IMG_0001.JPG", data), accept=PHOTO_OR_VIDEO)
    content = checked.read()
    assert checked.upload_kind == IMAGE and checked.content_type == "image/jpeg"
    assert b"SecretCam" not in content
    image = Image.open(BytesIO(content))
    assert image.format == "JPEG"
    assert dict(image.getexif()) == {}
    assert image.size == (20, 40)  # orientation 6: turned upright


def test_an_image_is_stored_as_what_it_is():
    checked = check_upload(upload("scan.jpg", png_bytes()), accept=PHOTO_OR_VIDEO)
    assert checked.name == "scan.png"
    assert Image.open(checked).format == "PNG"


def test_a_real_mp4_signature_passes_and_keeps_its_bytes():
    data = mp4_bytes()
    checked = check_upload(upload("clip.mp4", data), accept=PHOTO_OR_VIDEO)
    assert checked.upload_kind == VIDEO and checked.content_type == "video/mp4"
    assert checked.read() == data
    mov = check_upload(upload("clip.mov", mp4_bytes(brand=b"qt  ")), accept=PHOTO_OR_VIDEO)
    assert mov.content_type == "video/quicktime" and mov.name == "clip.mov"
    webm = check_upload(upload("clip.webm", webm_bytes()), accept=PHOTO_OR_VIDEO)
    assert webm.content_type == "video/webm"


def test_a_video_that_is_not_one_is_corrupt():
    assert _refused(upload("clip.mp4", jpeg_bytes())).code == "upload_corrupt"
    assert _refused(upload("clip.mp4", b"\x00" * 64)).code == "upload_corrupt"


def test_too_large_by_size():
    small = Accept(IMAGE, VIDEO, max_bytes={VIDEO: 64})
    e = _refused(upload("clip.mp4", mp4_bytes(extra=1024)), accept=small)
    assert e.code == "upload_too_large"
    assert "clip.mp4" in e.message


def test_too_large_by_pixels_before_decoding(monkeypatch):
    monkeypatch.setattr(uploads, "MAX_PIXELS", 100)
    e = _refused(upload("wide.png", png_bytes(size=(20, 10))))
    assert e.code == "upload_too_large"


def test_decompression_bomb_is_too_large():
    # A PNG header claiming 60000 × 60000 pixels: refused on the header, never decoded.
    data = png_bytes(size=(1, 1))
    at = data.index(b"IHDR")
    body = b"IHDR" + (60000).to_bytes(4, "big") * 2 + data[at + 12 : at + 17]
    forged = data[:at] + body + zlib.crc32(body).to_bytes(4, "big") + data[at + 21 :]
    assert _refused(upload("bomb.png", forged)).code == "upload_too_large"


def test_unknown_extension_and_explicit_kind_claims():
    assert _refused(upload("notes.txt", b"hi")).code == "upload_unsupported_type"
    assert _refused(upload("noname", jpeg_bytes())).code == "upload_unsupported_type"
    e = _refused(video("clip.mp4"), accept=ANY, claims=(IMAGE,))
    assert e.code == "upload_unsupported_type"
    assert check_upload(photo("r.jpg"), accept=ANY, claims=(PDF, IMAGE)).upload_kind == IMAGE


def test_an_already_checked_file_is_not_checked_again():
    checked = check_upload(photo(), accept=PHOTO_OR_VIDEO)
    assert isinstance(checked, CheckedFile)
    assert check_upload(checked, accept=PHOTO_OR_VIDEO) is checked
    assert _refused(checked, accept=Accept(PDF)).code == "upload_unsupported_type"


def test_accept_attribute_and_description():
    assert ".jpg" in PHOTO_OR_VIDEO.attr and "video/mp4" in PHOTO_OR_VIDEO.attr
    assert ".pdf" not in PHOTO_OR_VIDEO.attr
    with translation.override("en"):
        assert str(PHOTO_OR_VIDEO.description).startswith("photos (JPG, PNG, WebP, up to")
    with translation.override("zh-hans"):
        assert str(PHOTO_OR_VIDEO.description).startswith("照片（JPG、PNG、WebP，最大")


# -- no file left behind by a failed request ------------------------------------------------------


def _evidence_row(request=None):
    from returns.models import ReturnEvidence

    row = ReturnEvidence(kind="photo", party="consumer")
    if request is not None:
        row.request, row.merchant_id = request, request.merchant_id
    return row


def _request_row():
    from aftersales.tests import factories as af
    from returns.tests.cases import case

    return case(af.MerchantFactory(), af.ConsumerFactory())


@pytest.mark.django_db(transaction=True)
def test_a_file_whose_row_was_rolled_back_is_deleted_at_the_end_of_the_request(rf):
    from django.db import transaction

    request_row = _request_row()
    saved = {}

    def view(request):
        row = _evidence_row(request_row)
        try:
            with transaction.atomic():
                row.file.save("x.jpg", ContentFile(jpeg_bytes()), save=False)
                uploads.track_stored(row.file)
                row.save()
                saved["name"] = row.file.name
                assert row.file.storage.exists(row.file.name)
                raise RuntimeError("the service failed after writing the file")
        except RuntimeError:
            return HttpResponse(status=400)

    response = uploads.UploadGuardMiddleware(view)(rf.post("/x/"))
    assert response.status_code == 400
    assert not default_storage.exists(saved["name"])


@pytest.mark.django_db
def test_a_file_whose_row_exists_is_kept(rf):
    request_row = _request_row()
    kept = {}

    def view(request):
        row = _evidence_row(request_row)
        row.file.save("x.jpg", ContentFile(jpeg_bytes()), save=False)
        uploads.track_stored(row.file)
        row.save()
        kept["name"] = row.file.name
        return HttpResponse()

    uploads.UploadGuardMiddleware(view)(rf.post("/x/"))
    assert default_storage.exists(kept["name"])
