"""Domain errors with stable codes.

Services raise these; the API turns them into ``{"code", "message", "fields"}`` in one handler
(``aftersales.api.errors``) and pages turn them into form errors. The ``code`` is part of the
API contract: never rename one.
"""

from django.utils.translation import gettext as _


class DomainError(Exception):
    """Base of every error a user can cause. ``status`` is the HTTP status the API answers."""

    status = 400
    default_code = "invalid"

    def __init__(self, message, *, code=None, fields=None):
        super().__init__(message)
        self.message = str(message)
        self.code = code or self.default_code
        self.fields = fields or {}


class RuleViolation(DomainError):
    """A business rule refuses the request (400), e.g. ``no_reason_window_closed``."""

    status = 400
    default_code = "rule_violation"


class InvalidInput(DomainError):
    """The input is malformed or incomplete (400)."""

    status = 400
    default_code = "invalid"


class NotFound(DomainError):
    """The object does not exist or lies outside the caller's scope (404, never 403)."""

    status = 404
    default_code = "not_found"

    def __init__(self, message=None, **kwargs):
        super().__init__(message or _("未找到该对象，或您无权查看。"), **kwargs)


class Conflict(DomainError):
    """The object's current state does not allow the request (409)."""

    status = 409
    default_code = "conflict"


class PermissionDenied(DomainError):
    """The caller may see the object but may not perform this action on it (403)."""

    status = 403
    default_code = "permission_denied"
