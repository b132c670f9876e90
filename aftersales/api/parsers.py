"""The API's request-body parsers: JSON, form and multipart, each refusing what would otherwise
reach the database or the interpreter's limits as a 500 (issue 19).

- JSON nested deeper than ``MAX_JSON_DEPTH`` is refused before it is parsed (Python's parser
  raises ``RecursionError`` on a few thousand ``[``): 400 ``json_too_deep``.
- A NUL character, or a lone surrogate (``"\\ud800"``: no UTF-8 for it), in any key or string
  value of a body is refused: 400 ``nul_character`` / ``invalid_unicode``. PostgreSQL stores
  neither in a text column.
- A multipart body that Django cannot parse answers 400 ``malformed_multipart``; an uploaded
  file's name longer than ``MAX_FILE_NAME_LENGTH`` answers 400 ``file_name_too_long``.

The size of every body is bounded before any parser runs (``aftersales.api.middleware``).
"""

import io
import re
from itertools import accumulate

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_JSON_DEPTH = 64
# Django cuts an uploaded file's name to 255 characters before a parser sees it, so the limit
# sits below that for a longer name to be refused rather than silently cut.
MAX_FILE_NAME_LENGTH = 200
# A JSON string literal, escapes included (the unrolled form: linear, and fast on long strings):
# its brackets do not nest anything.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1


def json_depth(raw):
    """The deepest nesting of arrays and objects in the JSON text ``raw`` (bytes), counted
    without parsing it; strings are skipped, so ``"[[["`` nests nothing. 0 when ``raw`` holds
    too few brackets to nest deeper than ``MAX_JSON_DEPTH`` (not counted then)."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return 0  # cannot nest deeper than the limit: the common case costs two counts
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def refuse_bad_text(value, where=""):
    """Raise ``ParseError`` when ``value`` (a parsed body: dicts, lists, strings, numbers)
    holds a NUL or a character that has no UTF-8 encoding, in a key or in a string."""
    if isinstance(value, dict):
        for key, item in value.items():
            refuse_bad_text(key, where)
            refuse_bad_text(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            refuse_bad_text(item, f"{where}[{index}]")
    elif isinstance(value, str):
        if "\x00" in value:
            raise ParseError(
                _("请求中的 %(where)s 不能含有空字符（NUL）。") % {"where": where}
                if where
                else _("请求中不能含有空字符（NUL）。"),
                code="nul_character",
            )
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ParseError(
                _("请求中的 %(where)s 含有无效的 Unicode 字符（单独的代理项）。") % {"where": where}
                if where
                else _("请求中含有无效的 Unicode 字符（单独的代理项）。"),
                code="invalid_unicode",
            ) from None


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        if json_depth(raw) > MAX_JSON_DEPTH:
            raise ParseError(
                _("JSON 嵌套超过 %(depth)s 层。") % {"depth": MAX_JSON_DEPTH},
                code="json_too_deep",
            )
        try:
            data = super().parse(io.BytesIO(raw), media_type, parser_context)
        except ParseError:
            raise ParseError(_("请求体不是合法的 JSON。"), code="malformed_request") from None
        except RecursionError:  # a body in an encoding whose brackets the count above missed
            raise ParseError(_("JSON 嵌套过深。"), code="json_too_deep") from None
        refuse_bad_text(data)
        return data


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        refuse_bad_text(dict(data.lists()))
        return data


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            result = super().parse(stream, media_type, parser_context)
        except ParseError:
            raise ParseError(_("multipart 请求体无法解析。"), code="malformed_multipart") from None
        refuse_bad_text(dict(result.data.lists()))
        for field, uploads in result.files.lists():
            for upload in uploads:
                name = upload.name or ""
                refuse_bad_text(name, field)
                if len(name) > MAX_FILE_NAME_LENGTH:
                    raise ParseError(
                        _("文件名最长 %(limit)s 个字符（%(field)s：%(length)s 个字符）。")
                        % {"limit": MAX_FILE_NAME_LENGTH, "field": field, "length": len(name)},
                        code="file_name_too_long",
                    )
        return result
