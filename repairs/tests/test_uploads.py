"""Uploads of repairs (issue 14): fault photos, the repairer's evidence by its kind, and a
provider's licence are checked for what they are (``repairs.uploads``)."""

import pytest

from aftersales.casefile.uploads import UploadRejected
from aftersales.tenancy.actors import SYSTEM
from aftersales.tests.uploads import mp4_bytes, pdf, photo, upload
from repairs import services
from repairs.models import RepairProvider

pytestmark = pytest.mark.django_db


def _apply(licence_file, number="LIC-UP-1"):
    return services.provider_apply(
        actor=SYSTEM,
        name="上传测试维修站",
        licence_number=number,
        categories=["lcd_tv"],
        licence_file=licence_file,
    )


def test_a_licence_is_a_pdf_or_a_photo():
    assert _apply(pdf("licence.pdf")).licence_file.read().startswith(b"%PDF-")
    assert _apply(photo("licence.jpg"), number="LIC-UP-2").licence_file.name.endswith(".jpg")


@pytest.mark.parametrize(
    ("file", "code"),
    [
        (upload("licence.pdf", b"not a pdf"), "upload_corrupt"),
        (upload("licence.mp4", mp4_bytes()), "upload_unsupported_type"),
    ],
)
def test_a_licence_that_is_not_one_is_refused_before_anything_is_written(file, code):
    with pytest.raises(UploadRejected) as e:
        _apply(file)
    assert e.value.code == code
    assert not RepairProvider.objects.exists()
