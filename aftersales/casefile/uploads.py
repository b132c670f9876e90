"""One check for every file a person uploads to a case (issue 14): evidence of returns, repairs
and arbitration, and later complaints and invoices, through pages and the API alike.

A file is taken for what its content is, not for its name:

- images are decoded with Pillow, bounded by size and by pixel count (a small file that
  decompresses into a huge picture is refused before it is decoded), turned upright by their
  EXIF orientation and re-encoded without any metadata (EXIF with its GPS position, XMP,
  comments): what is stored is a fresh file of the same format;
- videos by their container signature: an ISO media ``ftyp`` box (MP4, MOV) or an EBML header
  (WebM, Matroska), and their size;
- PDF documents by their ``%PDF-`` header, and their size.

Each upload field or endpoint declares the kinds it takes once, as an ``Accept``, which gives
the form its ``accept=`` attribute and help text and the API its help text. A file of another
kind, or whose content does not match the kind its name claims, is refused with
``UploadRejected`` (an ``InvalidInput``) and a stable code: ``upload_unsupported_type``,
``upload_too_large`` or ``upload_corrupt``, with a message that names the file and says what
is accepted.

Files written by a request whose case rows were then rolled back are deleted when the request
ends (``track_stored``, ``UploadGuardMiddleware``): a failed request leaves no file behind.
"""

import contextvars
import posixpath
import re
from io import BytesIO

from django.core.files.base import ContentFile, File
from django.template.defaultfilters import filesizeformat
from django.utils.functional import lazy
from django.utils.translation import gettext, pgettext_lazy

from aftersales.errors import InvalidInput

from .files import original_name

IMAGE = "image"
VIDEO = "video"
PDF = "pdf"
KINDS = (IMAGE, VIDEO, PDF)

# Kind names in lists and limits ("photos or videos"), and for one file ("a photo").
KIND_NAMES = {
    IMAGE: pgettext_lazy("upload kinds", "照片"),
    VIDEO: pgettext_lazy("upload kinds", "视频"),
    PDF: pgettext_lazy("upload kinds", "PDF 文档"),
}
KIND_ONE = {
    IMAGE: pgettext_lazy("one upload", "照片"),
    VIDEO: pgettext_lazy("one upload", "视频"),
    PDF: pgettext_lazy("one upload", "PDF 文档"),
}
# The extensions a name may carry for each kind; what the content must then be is checked.
EXTENSIONS = {
    IMAGE: ("jpg", "jpeg", "png", "webp"),
    VIDEO: ("mp4", "m4v", "mov", "webm", "mkv"),
    PDF: ("pdf",),
}
MEDIA_TYPES = {
    IMAGE: ("image/jpeg", "image/png", "image/webp"),
    VIDEO: ("video/mp4", "video/quicktime", "video/webm", "video/x-matroska"),
    PDF: ("application/pdf",),
}
# The formats named next to a kind (a PDF document needs none).
FORMAT_NAMES = {IMAGE: ("JPG", "PNG", "WebP"), VIDEO: ("MP4", "MOV", "WebM"), PDF: ()}
MAX_BYTES = {IMAGE: 10 * 1024**2, VIDEO: 100 * 1024**2, PDF: 20 * 1024**2}
# 50 million pixels: a 48-megapixel phone photo passes; a decompression bomb does not.
MAX_PIXELS = 50_000_000
JPEG_QUALITY = 90

# Pillow format → stored extension.
_IMAGE_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
_EBML = b"\x1a\x45\xdf\xa3"


def _size(n):
    """A size in the active language, without a trailing ``.0`` (``10 MB``, ``2.5 MB``)."""
    return re.sub(r"[.,]0(?=\D)", "", str(filesizeformat(n)))


def _join(items):
    """``a``, ``a或b``, ``a、b或c`` in the active language."""
    items = [str(i) for i in items]
    if len(items) < 2:
        return "".join(items)
    return gettext("%(items)s或%(last)s") % {
        "items": gettext("、").join(items[:-1]),
        "last": items[-1],
    }


class Accept:
    """The kinds an upload field or endpoint takes (``IMAGE``, ``VIDEO``, ``PDF``), with the
    size limit of each (``MAX_BYTES`` unless given)."""

    def __init__(self, *kinds, max_bytes=None):
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown upload kinds: {sorted(unknown)}")
        self.kinds = tuple(kinds)
        self.max_bytes = dict(max_bytes or {})

    def __repr__(self):
        return f"Accept{self.kinds!r}"

    def limit(self, kind):
        return self.max_bytes.get(kind, MAX_BYTES[kind])

    @property
    def attr(self):
        """The ``accept=`` attribute of a file input: extensions and media types."""
        exts = [f".{e}" for k in self.kinds for e in EXTENSIONS[k]]
        return ",".join(exts + [t for k in self.kinds for t in MEDIA_TYPES[k]])

    def text(self):
        """What is accepted, now, in the active language."""
        parts = []
        for k in self.kinds:
            values = {"kind": KIND_NAMES[k], "limit": _size(self.limit(k))}
            if FORMAT_NAMES[k]:
                values["formats"] = gettext("、").join(FORMAT_NAMES[k])
                parts.append(gettext("%(kind)s（%(formats)s，最大 %(limit)s）") % values)
            else:
                parts.append(gettext("%(kind)s（最大 %(limit)s）") % values)
        return _join(parts)

    @property
    def description(self):
        """What is accepted, in the language active when it is shown: ``照片（JPG、PNG、WebP，
        最大 10 MB）或视频（…）``."""
        return lazy(self.text, str)()


class UploadRejected(InvalidInput):
    """An uploaded file is refused: ``upload_unsupported_type``, ``upload_too_large`` or
    ``upload_corrupt``."""

    default_code = "upload_unsupported_type"


class CheckedFile(File):
    """A file that passed ``check_upload``: ``upload_kind`` (``IMAGE``…), ``content_type``, and
    a ``name`` whose extension matches its content (the uploader's name otherwise)."""

    def __init__(self, file, *, name, upload_kind, content_type):
        super().__init__(file, name=name)
        self.upload_kind = upload_kind
        self.content_type = content_type


def _rejected(code, message, *, name, field_name, accept):
    return UploadRejected(
        message,
        code=code,
        fields={field_name: {"file": name, "accepted": list(accept.kinds)}},
    )


def _renamed(name, extension):
    """The uploader's name with the extension of what the file really is."""
    stem, ext = posixpath.splitext(name)
    current = ext.lower().lstrip(".")
    if current == extension or {current, extension} == {"jpg", "jpeg"}:
        return name
    return f"{stem or 'upload'}.{extension}"


def kind_of_name(name):
    """The kind a file name claims by its extension, or ``None``."""
    ext = posixpath.splitext(name or "")[1].lower().lstrip(".")
    return next((k for k in KINDS if ext in EXTENSIONS[k]), None)


def check_upload(upload, *, accept, claims=None, field_name="file"):
    """``upload`` checked against ``accept`` (and, when given, the kinds an explicit ``claims``
    names, e.g. an API ``kind``): a ``CheckedFile``, or ``UploadRejected``.

    A file already checked for a kind ``accept`` takes is returned as it is (a form checked it;
    the service checks again for the API)."""
    if isinstance(upload, CheckedFile) and upload.upload_kind in accept.kinds:
        if claims is None or upload.upload_kind in claims:
            return upload
    name = original_name(upload) or gettext("未命名文件")
    kind = kind_of_name(name)
    if kind is None or kind not in accept.kinds or (claims is not None and kind not in claims):
        allowed = accept if claims is None else Accept(*[k for k in accept.kinds if k in claims])
        raise _rejected(
            "upload_unsupported_type",
            gettext("不能上传“%(name)s”：这里只接受%(accepted)s。")
            % {"name": name, "accepted": allowed.text() if allowed.kinds else ""},
            name=name,
            field_name=field_name,
            accept=accept,
        )
    size = getattr(upload, "size", None) or 0
    limit = accept.limit(kind)
    if size > limit:
        raise _rejected(
            "upload_too_large",
            gettext("“%(name)s”太大（%(size)s）：%(kind)s最大 %(limit)s。请压缩后重新上传。")
            % {
                "name": name,
                "size": _size(size),
                "kind": KIND_NAMES[kind],
                "limit": _size(limit),
            },
            name=name,
            field_name=field_name,
            accept=accept,
        )
    check = {IMAGE: _image, VIDEO: _video, PDF: _pdf}[kind]
    result = check(upload, name=name, field_name=field_name, accept=accept)
    if result is None:
        raise _rejected(
            "upload_corrupt",
            gettext(
                "“%(name)s”不是可以打开的%(kind)s：文件已损坏，或内容与扩展名不符。"
                "请重新选择文件，这里接受%(accepted)s。"
            )
            % {"name": name, "kind": KIND_ONE[kind], "accepted": accept.text()},
            name=name,
            field_name=field_name,
            accept=accept,
        )
    return result


def _head(upload, n):
    upload.seek(0)
    head = upload.read(n)
    upload.seek(0)
    return head if isinstance(head, bytes) else head.encode()


def _image(upload, *, name, field_name, accept):
    """Decode, bound, turn upright and re-encode without metadata; ``None`` if not an image."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    upload.seek(0)
    try:
        with Image.open(upload, formats=tuple(_IMAGE_FORMATS)) as image:
            pixels = image.width * image.height
            if pixels > MAX_PIXELS:
                raise _rejected(
                    "upload_too_large",
                    gettext(
                        "“%(name)s”的尺寸太大（%(width)s×%(height)s 像素）：照片最多 "
                        "%(limit)s 百万像素。请缩小后重新上传。"
                    )
                    % {
                        "name": name,
                        "width": image.width,
                        "height": image.height,
                        "limit": MAX_PIXELS // 1_000_000,
                    },
                    name=name,
                    field_name=field_name,
                    accept=accept,
                )
            image_format = image.format
            image.load()
            upright = ImageOps.exif_transpose(image)
    except Image.DecompressionBombError:
        raise _rejected(
            "upload_too_large",
            gettext("“%(name)s”的尺寸太大。请缩小后重新上传。") % {"name": name},
            name=name,
            field_name=field_name,
            accept=accept,
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        return None
    finally:
        upload.seek(0)
    icc_profile = upright.info.get("icc_profile")
    upright.info = {}  # nothing of the original's metadata goes along
    options = {"icc_profile": icc_profile} if icc_profile else {}
    if image_format == "JPEG":
        if upright.mode not in ("RGB", "L", "CMYK"):
            upright = upright.convert("RGB")
        options.update(quality=JPEG_QUALITY, optimize=True)
    elif image_format == "PNG":
        if upright.mode not in ("1", "L", "LA", "I", "P", "RGB", "RGBA"):
            upright = upright.convert("RGBA")
        options.update(optimize=True)
    else:  # WEBP
        if upright.mode not in ("RGB", "RGBA"):
            upright = upright.convert("RGBA")
        options.update(quality=JPEG_QUALITY)
    out = BytesIO()
    upright.save(out, format=image_format, **options)
    extension = _IMAGE_FORMATS[image_format]
    return CheckedFile(
        ContentFile(out.getvalue()),
        name=_renamed(name, extension),
        upload_kind=IMAGE,
        content_type=Image.MIME[image_format],
    )


def _video(upload, *, name, field_name, accept):
    """An ISO media file (``ftyp`` box: MP4, MOV) or an EBML one (WebM, Matroska)."""
    head = _head(upload, 64)
    if len(head) >= 12 and head[4:8] == b"ftyp" and int.from_bytes(head[:4], "big") >= 8:
        quicktime = head[8:12] == b"qt  "
        extension, content_type = ("mov", "video/quicktime") if quicktime else ("mp4", "video/mp4")
    elif head[:4] == _EBML:
        webm = b"webm" in head
        extension = "webm" if webm else "mkv"
        content_type = "video/webm" if webm else "video/x-matroska"
    else:
        return None
    if posixpath.splitext(name)[1].lower() in (".m4v",) and extension == "mp4":
        extension = "m4v"
    return CheckedFile(
        upload, name=_renamed(name, extension), upload_kind=VIDEO, content_type=content_type
    )


def _pdf(upload, *, name, field_name, accept):
    if not _head(upload, 5).startswith(b"%PDF-"):
        return None
    return CheckedFile(upload, name=name, upload_kind=PDF, content_type="application/pdf")


# -- files written by a request that failed ---------------------------------------------------

_stored = contextvars.ContextVar("aftersales_uploads_stored", default=None)


def track_stored(field_file):
    """Note a file just written for a row (``row.file``): when the request ends and the row is
    not in the database (its transaction was rolled back), the file is deleted."""
    stored = _stored.get()
    if stored is not None and field_file:
        stored.append((type(field_file.instance), field_file.field.name, field_file.name))


def delete_orphans(stored):
    """Delete each ``(model, field, name)`` whose row does not exist."""
    for model, field_name, name in stored:
        if not model._default_manager.filter(**{field_name: name}).exists():
            model._meta.get_field(field_name).storage.delete(name)


class UploadGuardMiddleware:
    """Around every request that carries files: what ``track_stored`` noted and no row kept is
    deleted at the end (a refused or failed request leaves no file behind)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in ("POST", "PUT", "PATCH"):
            return self.get_response(request)
        stored = []
        token = _stored.set(stored)
        try:
            response = self.get_response(request)
        finally:
            _stored.reset(token)
            if stored:
                delete_orphans(stored)
        return response
