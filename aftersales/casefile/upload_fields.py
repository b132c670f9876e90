"""The form side of uploads (issue 14): one field for every evidence upload of a page.

``UploadField(accept=...)`` checks each chosen file with ``check_upload`` (so a refused file is
named on the field, next to what is accepted) and renders ``components/_upload_input.html``:
the file input with its ``accept=`` attribute, the previews that ``portal.js`` draws for the
files chosen, and the files already kept.

Kept files: when the form comes back with an error (of this field or another one, or of the
service), the files that passed are kept in a private stash (``upload-stash/`` in the default
storage) and offered again as ticked boxes with their thumbnail, so nobody picks them twice.
Each is named by a signed token bound to the uploader (the signed-in user, else the session)
and valid for ``STASH_MAX_AGE`` seconds; a token of someone else, forged or expired, is ignored.
A kept file is deleted once a request that used it succeeds (redirects), and any older than a
day is swept when a new one is written.
"""

import base64
import contextvars
import posixpath
from datetime import timedelta
from io import BytesIO

from django import forms
from django.core import signing
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .files import random_name
from .uploads import IMAGE, KIND_NAMES, CheckedFile, UploadRejected, check_upload

STASH_FOLDER = "upload-stash"
STASH_MAX_AGE = 24 * 3600
THUMBNAIL_SIZE = (160, 160)
_SALT = "aftersales.casefile.upload-stash"

_uploader = contextvars.ContextVar("aftersales_uploader", default="")
_consumed = contextvars.ContextVar("aftersales_upload_stash_consumed", default=None)


def uploader_of(request):
    """Whose stash a request may use: the signed-in user, else the session."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    session = getattr(request, "session", None)
    return f"session:{session.session_key}" if session and session.session_key else ""


def stash(checked):
    """Keep a checked file for the uploader; returns its token (also set on the file)."""
    token = getattr(checked, "stash_token", None)
    if token:
        return token
    _sweep()
    checked.seek(0)
    stored = default_storage.save(random_name(STASH_FOLDER, checked.name), checked)
    checked.seek(0)
    token = signing.dumps(
        {
            "n": stored,
            "o": checked.name,
            "k": checked.upload_kind,
            "t": checked.content_type,
            "u": _uploader.get(),
        },
        salt=_SALT,
    )
    checked.stash_token = token
    checked.stash_name = stored
    return token


def unstash(token):
    """The kept file a token names, if it is the uploader's and still there; else ``None``."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=STASH_MAX_AGE)
    except signing.BadSignature:
        return None
    name = data.get("n", "")
    uploader = _uploader.get()
    if not uploader or data.get("u") != uploader or not name.startswith(STASH_FOLDER + "/"):
        return None
    try:
        handle = default_storage.open(name, "rb")
    except OSError:
        return None
    checked = CheckedFile(
        File(handle), name=data["o"], upload_kind=data["k"], content_type=data["t"]
    )
    checked.size = default_storage.size(name)
    checked.stash_token = token
    checked.stash_name = name
    consumed = _consumed.get()
    if consumed is not None:
        consumed.append(name)
    return checked


def _sweep():
    """Delete kept files older than ``STASH_MAX_AGE`` (nobody came back for them)."""
    try:
        _, names = default_storage.listdir(STASH_FOLDER)
    except OSError:
        return
    # File times are the wall clock's, not business time (a sandbox may move that one).
    limit = timezone.now() - timedelta(seconds=STASH_MAX_AGE)
    for name in names:
        path = posixpath.join(STASH_FOLDER, name)
        try:
            if default_storage.get_modified_time(path) < limit:
                default_storage.delete(path)
        except OSError:
            continue


def thumbnail(checked):
    """A small JPEG of a kept image as a ``data:`` URL (the pages' CSP allows ``data:`` images),
    or ``""``."""
    if checked.upload_kind != IMAGE:
        return ""
    from PIL import Image

    checked.seek(0)
    try:
        with Image.open(checked) as image:
            image.thumbnail(THUMBNAIL_SIZE)
            out = BytesIO()
            image.convert("RGB").save(out, format="JPEG", quality=70)
    except (OSError, ValueError):
        return ""
    finally:
        checked.seek(0)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode()


class UploadStashMiddleware:
    """Binds kept files to the request's uploader, and deletes the kept files a request used
    once it succeeded (a page that took the form redirects; one that shows it again does not)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method != "POST":
            return self.get_response(request)
        consumed = []
        tokens = (_uploader.set(uploader_of(request)), _consumed.set(consumed))
        try:
            response = self.get_response(request)
        finally:
            _uploader.reset(tokens[0])
            _consumed.reset(tokens[1])
        if consumed and 300 <= response.status_code < 400:
            for name in consumed:
                default_storage.delete(name)
        return response


class UploadInput(forms.FileInput):
    """A file input taking several files, with their previews and the files kept."""

    allow_multiple_selected = True
    template_name = "components/_upload_input.html"

    def __init__(self, attrs=None, *, multiple=True):
        super().__init__(attrs)
        self.allow_multiple_selected = multiple
        self.kept = []

    def value_from_datadict(self, data, files, name):
        chosen = files.getlist(name) if hasattr(files, "getlist") else [files.get(name)]
        kept = data.getlist(f"{name}-kept") if hasattr(data, "getlist") else []
        return {"files": [f for f in chosen if f], "kept": kept}

    def value_omitted_from_data(self, data, files, name):
        return name not in files and f"{name}-kept" not in data

    def use_required_attribute(self, initial):
        return False  # kept files count too: the server says what is missing

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["kept"] = [
            {
                "token": stash(f),
                "name": f.name,
                "kind": f.upload_kind,
                "kind_name": KIND_NAMES[f.upload_kind],
                "thumbnail": thumbnail(f),
            }
            for f in self.kept
        ]
        context["widget"]["kept_name"] = f"{name}-kept"
        return context


class UploadField(forms.FileField):
    """Files of the kinds ``accept`` (an ``uploads.Accept``) names: up to ``max_files`` of
    them (a list), or one (``multiple=False``: the file or ``None``). Each is checked by
    ``check_upload``; the cleaned value holds ``CheckedFile`` objects."""

    def __init__(self, *, accept, max_files=9, multiple=True, help_text="", **kwargs):
        self.accept = accept
        self.max_files = max_files if multiple else 1
        self.multiple = multiple
        attrs = {"accept": accept.attr, "data-upload": ""}
        kwargs.setdefault("widget", UploadInput(attrs=attrs, multiple=multiple))
        kwargs.setdefault("required", False)
        described = format_lazy(_("可上传{}。"), accept.description)
        kwargs["help_text"] = format_lazy("{} {}", help_text, described) if help_text else described
        super().__init__(**kwargs)

    def bound_data(self, data, initial):
        return data

    def clean(self, data, initial=None):
        data = data if isinstance(data, dict) else {"files": [data] if data else [], "kept": []}
        checked, errors = [], []
        for token in data.get("kept", ()):
            kept = unstash(token)
            if kept is not None:
                checked.append(kept)
        for upload in data.get("files", ()):
            try:
                checked.append(check_upload(upload, accept=self.accept))
            except UploadRejected as exc:
                errors.append(forms.ValidationError(exc.message, code=exc.code))
        self.widget.kept = checked
        if len(checked) > self.max_files:
            errors.append(
                forms.ValidationError(
                    ngettext("最多上传 %(n)s 个文件。", "最多上传 %(n)s 个文件。", self.max_files)
                    % {"n": self.max_files},
                    code="upload_too_many",
                )
            )
        if errors:
            raise forms.ValidationError(errors)
        if self.required and not checked:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        if not self.multiple:
            return checked[0] if checked else None
        return checked

    def has_changed(self, initial, data):
        return bool(data and (data.get("files") or data.get("kept")))
