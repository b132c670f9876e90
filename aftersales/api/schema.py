"""The error responses every operation can give, added to the OpenAPI schema in one place.

A drf-spectacular postprocessing hook (``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``): each
operation lists, besides its success response, the error body ``Error``
(``{"code", "message", "fields"}``, ``aftersales.api.errors``) under the statuses it can answer
(ARCHITECTURE.md "API conventions", issue 19):

- 400 invalid input or a rule violation (any operation: a NUL in a query parameter is refused
  everywhere, ``aftersales.api.middleware``), 404 outside the caller's scope, 500 an internal
  error (logged, under the request id it names);
- 401 without valid credentials, 403 a role that sees the object but may not change it
  (operations that are not public);
- 409 a conflicting state (writes), 413 a body over the size limit and 415 a body of another
  media type (operations with a body).

A status an operation documents itself (its own 400 example, say) is kept.
"""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


def error_schema():
    """The ``Error`` component, in the language of the request for the schema."""
    return {
        "type": "object",
        "description": _(
            "错误响应：稳定的错误码（code）、按请求语言书写的说明（message）和逐字段的详情（fields）。"
        ),
        "properties": {
            "code": {"type": "string", "description": _("稳定的错误码。")},
            "message": {"type": "string"},
            "fields": {"type": "object", "additionalProperties": {}},
        },
        "required": ["code", "message", "fields"],
    }


DESCRIPTIONS = {
    "400": gettext_lazy("请求无效或违反业务规则。"),
    "401": gettext_lazy("未登录或 API 密钥无效。"),
    "403": gettext_lazy("可以查看但无权执行此操作。"),
    "404": gettext_lazy("不存在或不在调用方范围内。"),
    "409": gettext_lazy("对象当前状态不允许此操作。"),
    "413": gettext_lazy("请求体超过大小上限。"),
    "415": gettext_lazy("不支持的请求体类型。"),
    "500": gettext_lazy("内部错误，已记录（见 fields.request_id）。"),
}
WRITES = {"post", "put", "patch", "delete"}


def error_statuses(method, operation):
    statuses = ["400", "404", "500"]
    security = operation.get("security")
    public = security is not None and all(not item for item in security)
    if not public:
        statuses += ["401", "403"]
    if method in WRITES:
        statuses.append("409")
    if "requestBody" in operation:
        statuses += ["413", "415"]
    return sorted(statuses)


def add_error_responses(result, generator, request, public):
    """Postprocessing hook: the ``Error`` component and each operation's error responses."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = error_schema()
    reference = {"$ref": "#/components/schemas/Error"}
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status in error_statuses(method, operation):
                responses.setdefault(
                    status,
                    {
                        "content": {"application/json": {"schema": reference}},
                        "description": str(DESCRIPTIONS[status]),
                    },
                )
            operation["responses"] = dict(sorted(responses.items()))
    return result
