"""Small generated files for upload tests (issue 14): real images made with Pillow, a minimal
MP4 and WebM header, a PDF; no binary fixtures."""

from io import BytesIO

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

GPS_IFD = 0x8825
ORIENTATION = 0x0112
MAKE = 0x010F


def image_bytes(fmt="JPEG", size=(24, 16), color=(200, 40, 40), *, exif=None):
    """An image of ``size`` in ``fmt``; ``exif``: a dict of tags (``GPS_IFD`` → a dict)."""
    image = Image.new("RGB", size, color)
    options = {}
    if exif:
        tags = Image.Exif()
        for tag, value in exif.items():
            tags[tag] = value
        options["exif"] = tags.tobytes()
    out = BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def jpeg_bytes(**kwargs):
    return image_bytes("JPEG", **kwargs)


def png_bytes(**kwargs):
    return image_bytes("PNG", **kwargs)


def mp4_bytes(brand=b"isom", extra=64):
    """An ISO media ``ftyp`` box (what an MP4/MOV file starts with), then an empty ``mdat``."""
    ftyp = b"ftyp" + brand + b"\x00\x00\x02\x00" + brand + b"mp41"
    box = (8 + len(ftyp) - 4).to_bytes(4, "big") + ftyp
    return box + (8 + extra).to_bytes(4, "big") + b"mdat" + b"\x00" * extra


def webm_bytes():
    """An EBML header whose DocType is ``webm``."""
    return b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm" + b"\x00" * 32


def pdf_bytes():
    return b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def upload(name, content, content_type="application/octet-stream"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def photo(name="damage.jpg", **kwargs):
    fmt = "PNG" if name.lower().endswith(".png") else "JPEG"
    return upload(name, image_bytes(fmt, **kwargs), f"image/{fmt.lower()}")


def video(name="clip.mp4"):
    return upload(name, mp4_bytes(), "video/mp4")


def pdf(name="report.pdf"):
    return upload(name, pdf_bytes(), "application/pdf")
