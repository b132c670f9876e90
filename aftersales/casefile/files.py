"""Uploaded files of a case (evidence, licences): stored under random names and served only by
views that check the caller's access first (issue 19).

Nothing under ``MEDIA_ROOT`` is served as static files, in any mode. A view that has checked
access answers with ``private_file_response``: the file through Django, or, when
``PRIVATE_FILES_ACCEL_REDIRECT`` is set (production behind nginx), an empty answer whose
``X-Accel-Redirect`` header names the file under that internal location, which nginx then sends
(docs/operations.md, "Uploaded files").
"""

import mimetypes
import posixpath
import re
import uuid
from urllib.parse import quote

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse
from django.utils.http import content_disposition_header

_EXTENSION = re.compile(r"^\.[a-z0-9]{1,10}$")


def random_name(folder, filename):
    """``<folder>/<32 random hex digits><.ext>``: nothing of the case (its id, its date, the
    uploader's file name) is in the path, so a path cannot be guessed or read for personal data.
    Only a plain extension of the original name is kept (for the content type)."""
    extension = posixpath.splitext(filename or "")[1].lower()
    if not _EXTENSION.match(extension):
        extension = ""
    return f"{folder}/{uuid.uuid4().hex}{extension}"


ORIGINAL_NAME_LENGTH = 200


def original_name(upload):
    """The uploader's own file name (kept in the row to show and to offer the download under,
    never in the stored path)."""
    name = posixpath.basename(str(getattr(upload, "name", "") or "").replace("\\", "/"))
    return name[-ORIGINAL_NAME_LENGTH:]


def display_name(field_file, original=""):
    """The name a file is shown and offered under: the uploader's, else the stored base name."""
    return original or (posixpath.basename(field_file.name) if field_file else "")


def private_file_response(field_file, *, filename=""):
    """The stored file as the answer to a caller whose access the view has checked; 404 if it
    is missing. Never cached by a shared cache, never sniffed into another type."""
    if not field_file:
        raise Http404
    name = display_name(field_file, filename)
    accel = getattr(settings, "PRIVATE_FILES_ACCEL_REDIRECT", "")
    if accel:
        if not field_file.storage.exists(field_file.name):
            raise Http404
        content_type = mimetypes.guess_type(field_file.name)[0] or "application/octet-stream"
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = accel.rstrip("/") + "/" + quote(field_file.name)
        response["Content-Disposition"] = content_disposition_header(False, name)
    else:
        try:
            handle = field_file.open("rb")
        except OSError:
            raise Http404 from None
        response = FileResponse(handle, filename=name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
