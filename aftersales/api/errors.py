"""The one place where errors become the API's error body (ARCHITECTURE.md "API conventions").

``{"code": "...", "message": "...", "fields": {...}}``: 400 rule violations and bad input,
401 no or bad credentials, 404 anything outside the caller's scope, 409 a conflicting state,
413 a body over the size limit, 500 an internal error (logged under the request id it names).
Always JSON, also for requests Django refuses before a view (``json_400``) and for operations
that render other formats (CSV reports). The statuses each operation can answer are listed in
the schema by ``aftersales.api.schema``.
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, HttpResponseServerError, JsonResponse
from django.template import loader
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.defaults import ERROR_500_TEMPLATE_NAME, bad_request, page_not_found
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import set_rollback

from aftersales.api.middleware import body_too_large
from aftersales.errors import DomainError

logger = logging.getLogger("aftersales.api")

_DRF = {
    exceptions.NotAuthenticated: (
        "not_authenticated",
        gettext_lazy("请先登录或提供 API 密钥。"),
    ),
    exceptions.AuthenticationFailed: ("authentication_failed", None),
    exceptions.PermissionDenied: ("permission_denied", gettext_lazy("您无权执行此操作。")),
    exceptions.MethodNotAllowed: ("method_not_allowed", None),
    exceptions.NotAcceptable: ("not_acceptable", None),
    exceptions.UnsupportedMediaType: ("unsupported_media_type", None),
    exceptions.Throttled: ("throttled", None),
    exceptions.ParseError: ("malformed_request", None),
}


def error_body(code, message, fields=None):
    return {"code": code, "message": message, "fields": fields or {}}


def exception_handler(exc, context):
    response = error_response(exc)
    request = context.get("request")
    if response is not None and request is not None:
        # The error body is JSON whatever the operation's other formats (a CSV report's error
        # is not a CSV row): the renderer is chosen here, not by ?format= or Accept.
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type
    return response


def error_response(exc):
    if isinstance(exc, DomainError):
        set_rollback()
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status)
    if isinstance(exc, (Http404, exceptions.NotFound)):
        set_rollback()
        return Response(error_body("not_found", _("未找到该对象，或您无权查看。")), status=404)
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        set_rollback()
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return Response(
            error_body(
                "invalid",
                _("请求参数有误，请按各字段的提示修改后重试。"),
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
        response = Response(
            error_body(code, str(message) if message else str(exc.detail)), status=exc.status_code
        )
        if getattr(exc, "auth_header", None):
            response["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            response["Retry-After"] = str(int(exc.wait))
        return response
    return None


def json_404(request, exception=None):
    """Django-level 404 for paths that no view matched: JSON under /api/, HTML elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", _("没有这个接口。")), status=404)

    return page_not_found(request, exception)


def json_400(request, exception=None):
    """Django-level 400 (a request Django itself refuses, before or outside a view): JSON under
    /api/ with a code that says what is wrong, HTML elsewhere."""
    if not request.path.startswith("/api/"):
        return bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return body_too_large()
    if isinstance(exception, TooManyFieldsSent | TooManyFilesSent):
        code, message = (
            "too_many_fields",
            _("请求中的字段或文件过多。"),
        )
    else:
        code, message = "bad_request", _("请求无效。")
    return JsonResponse(error_body(code, message), status=400)


def json_500(request):
    """Django-level 500. The same input will fail again, so the body does not say "retry": it
    says the error was logged, under the request's id (``X-Request-ID``), for the caller to
    quote to the platform's support."""
    request_id = getattr(request, "request_id", None) or "-"
    logger.error("internal error, request id %s: %s %s", request_id, request.method, request.path)
    if request.path.startswith("/api/"):
        return JsonResponse(
            error_body(
                "server_error",
                _("服务器内部错误，已记录，请求编号 %(request_id)s；请联系平台并提供该编号。")
                % {"request_id": request_id},
                {"request_id": request_id},
            ),
            status=500,
        )

    # The page is rendered with no request (no context processor, no session, no database: the
    # error may be the database), only the id to quote and the path (the portal's look); in the
    # language the request had.
    context = {"request_id": request_id, "error_path": request.path}
    body = loader.get_template(ERROR_500_TEMPLATE_NAME).render(context)
    return HttpResponseServerError(body)
