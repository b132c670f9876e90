"""Evidence uploads in a real Chromium (issue 14): the consumer picks files for a return, sees
their previews before sending, gets a refused file named with what is accepted, and does not
have to pick the good one again after the form came back with errors.

Files are generated (Pillow, a PDF header), never fixtures. Waits use locator assertions.
"""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from aftersales import clock
from aftersales.tests import factories as kernel
from aftersales.tests.uploads import pdf_bytes, png_bytes
from returns.models import ReturnRequest
from returns.tests.factories_pages import signed_line

from .conftest import SCREENSHOTS, _user, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
expect.set_options(timeout=15_000)


@pytest.fixture
def line(transactional_db):
    merchant = kernel.MerchantFactory(code="up-shop", name="优品数码旗舰店")
    alice = kernel.ConsumerFactory(user=_user("alice"), name="张三丰")
    return signed_line(
        consumer=alice,
        merchant=merchant,
        signed_at=clock.now() - timedelta(days=1),
        product_name="降噪蓝牙耳机 Pro",
        unit_price=Decimal("1299.00"),
    )


def _files():
    return [
        {"name": "crack.png", "mimeType": "image/png", "buffer": png_bytes(size=(80, 60))},
        {"name": "fake.jpg", "mimeType": "image/jpeg", "buffer": b"this is text, not a photo"},
        {"name": "invoice.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()},
    ]


def test_previews_a_refused_upload_and_the_files_kept(new_page, line):
    page = new_page()
    sign_in(page, "alice")
    page.goto(f"/my/lines/{line.pk}/after-sales/")
    field = page.locator("input[type=file][name=evidence]")
    accept = field.get_attribute("accept")
    assert ".jpg" in accept and ".mp4" in accept and ".pdf" not in accept
    expect(page.locator(".evidence-field .help")).to_contain_text("可上传照片（JPG、PNG、WebP")

    # Previews before anything is sent: a thumbnail for the photo, a chip for the others.
    field.set_input_files(_files())
    previews = page.locator("[data-testid=upload-preview]")
    expect(previews).to_have_count(3)
    expect(previews.nth(0).locator("img.upload-thumb")).to_have_attribute(
        "src", re.compile(r"^data:image/png;base64,")
    )
    expect(previews.nth(2).locator(".upload-chip")).to_have_text("PDF 文档")
    expect(previews.nth(2)).to_contain_text("invoice.pdf")

    # Sent without a reason: the form comes back with the reason's error, each refused file named
    # with what is accepted, and the good photo kept (with its thumbnail) for the next try.
    page.click("[data-testid=kind-return_refund]")
    page.fill("#id_description", "右耳没有声音")
    page.click("[data-testid=request-submit]")
    errors = page.locator("[data-testid=error-evidence]")
    expect(errors).to_have_count(2)
    expect(errors.nth(0)).to_contain_text("fake.jpg")
    expect(errors.nth(0)).to_contain_text("损坏")
    expect(errors.nth(1)).to_contain_text("invoice.pdf")
    expect(errors.nth(1)).to_contain_text("照片（JPG、PNG、WebP")
    expect(page.locator("[data-testid=error-reason]")).to_be_visible()
    kept = page.locator("[data-testid=upload-kept]")
    expect(kept).to_contain_text("crack.png")
    expect(kept.locator("input[type=checkbox]")).to_be_checked()
    expect(kept.locator("img.upload-thumb")).to_have_attribute(
        "src", re.compile(r"^data:image/jpeg;base64,")
    )
    page.screenshot(path=SCREENSHOTS / "uploads_kept.png", full_page=True)
    assert not ReturnRequest.objects.exists()

    # The consumer only fixes the reason: the kept photo goes with the request.
    page.select_option("#id_reason", "quality")
    page.click("[data-testid=request-submit]")
    page.wait_for_url(re.compile(r"/my/returns/\d+/$"))
    request = ReturnRequest.objects.get()
    assert [(e.kind, e.original_name) for e in request.evidence.all()] == [("photo", "crack.png")]
    assert page.csp_errors == []
