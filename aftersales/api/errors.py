"""The one place where errors become the API's error body (ARCHITECTURE.md "API conventions").

``{"code": "...", "message": "...", "fields": {...}}``: 400 rule violations and bad input,
401 no or bad credentials, 404 anything outside the caller's scope, 409 a conflicting state.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from django.views.defaults import page_not_found, server_error
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import set_rollback

from aftersales.errors import DomainError

_DRF = {
    exceptions.NotAuthenticated: (
        "not_authenticated",
        "请先登录或提供 API 密钥。Sign in or send an API key.",
    ),
    exceptions.AuthenticationFailed: ("authentication_failed", None),
    exceptions.PermissionDenied: ("permission_denied", "您无权执行此操作。You may not do this."),
    exceptions.MethodNotAllowed: ("method_not_allowed", None),
    exceptions.NotAcceptable: ("not_acceptable", None),
    exceptions.UnsupportedMediaType: ("unsupported_media_type", None),
    exceptions.Throttled: ("throttled", None),
    exceptions.ParseError: (
        "malformed_request",
        "请求体不是合法的 JSON。The request body is not valid JSON.",
    ),
}


def error_body(code, message, fields=None):
    return {"code": code, "message": message, "fields": fields or {}}


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        set_rollback()
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status)
    if isinstance(exc, (Http404, exceptions.NotFound)):
        set_rollback()
        return Response(
            error_body("not_found", "未找到该对象，或您无权查看。Not found."), status=404
        )
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        set_rollback()
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return Response(
            error_body(
                "invalid",
                "请求参数有误，请按 fields 中的提示修改后重试。"
                "Some fields are invalid; see fields.",
                detail,
            ),
            status=400,
        )
    if isinstance(exc, exceptions.APIException):
        set_rollback()
        code, message = _DRF.get(type(exc), (exc.default_code, None))
        specific = getattr(exc.detail, "code", None)
        if isinstance(specific, str) and specific != exc.default_code:
            code, message = specific, None  # e.g. api_key_revoked, with the raised message
        response = Response(error_body(code, message or str(exc.detail)), status=exc.status_code)
        if getattr(exc, "auth_header", None):
            response["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            response["Retry-After"] = str(int(exc.wait))
        return response
    return None


def json_404(request, exception=None):
    """Django-level 404 for paths that no view matched: JSON under /api/, HTML elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", "没有这个接口。No such endpoint."), status=404)

    return page_not_found(request, exception)


def json_500(request):
    if request.path.startswith("/api/"):
        return JsonResponse(
            error_body("server_error", "服务器内部错误，请稍后重试。Internal error; retry later."),
            status=500,
        )

    return server_error(request)
