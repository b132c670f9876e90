"""Shared pieces of every viewset: the actor, role checks, one-service writes."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter
from rest_framework import permissions

from aftersales.errors import NotFound, PermissionDenied
from aftersales.tenancy.actors import actor_from_request

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    name="Idempotency-Key",
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description=gettext_lazy("重复请求返回首次响应。"),
)


class HasRole(permissions.BasePermission):
    """The caller is a known role (consumer, merchant, platform staff or integrator)."""

    def has_permission(self, request, view):
        return actor_from_request(request).is_authenticated


class ActorViewMixin:
    permission_classes = [permissions.IsAuthenticated, HasRole]

    @property
    def actor(self):
        return actor_from_request(self.request)


def require_platform_write(actor):
    """Platform staff who may write (not auditors), or a platform-scoped key."""
    if not actor.platform_write:
        if actor.platform_read:
            raise PermissionDenied(_("只读角色不能修改数据。"), code="read_only_role")
        raise NotFound()


def require_platform_read(actor):
    if not actor.platform_read:
        raise NotFound()


def no_store(response):
    """Mark a response that carries a secret (a raw API key, a webhook signing secret) or
    unmasked personal data: no cache keeps it, and the idempotency store does not write its
    body to the database (``aftersales.api.idempotency``); a retry runs again instead."""
    response["Cache-Control"] = "no-store"
    return response
