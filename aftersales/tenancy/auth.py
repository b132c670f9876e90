"""Authentication: integrators' API keys and the session backend of signed-in people.

Integrator authentication: ``Authorization: Api-Key as_<prefix>_<secret>``.

Keys are stored as SHA-256 hashes and found by their public prefix; revoked keys are refused.
Failed keys are throttled like failed sign-ins (``aftersales.tenancy.signin``): per prefix and
per address, a wrong key answers 429 ``api_key_throttled`` while locked.
``last_used_at`` is written at most once a minute per key to keep reads cheap.
"""

import hmac
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AnonymousUser
from django.db.models import OuterRef, StringAgg, Subquery, Value
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions

from aftersales import clock
from aftersales.tenancy import signin
from aftersales.tenancy.actors import ROLE_SEPARATOR
from aftersales.tenancy.models import ApiKey

HEADER_PREFIX = "Api-Key"


class IntegratorUser(AnonymousUser):
    """The request user of an API-key call: authenticated, no database row."""

    def __init__(self, api_key):
        self.api_key = api_key
        self.username = f"api-key:{api_key.prefix}"

    @property
    def is_anonymous(self):
        return False

    @property
    def is_authenticated(self):
        return True

    def __str__(self):
        return self.username


def parse_raw_key(header_value):
    parts = (header_value or "").split()
    if len(parts) != 2 or parts[0] != HEADER_PREFIX:
        return None
    return parts[1]


def raw_key_prefix(raw):
    """The public prefix of a raw key ``as_<prefix>_<secret>``, or ``None`` if malformed."""
    pieces = raw.split("_")
    if len(pieces) < 3 or pieces[0] != "as" or not pieces[1]:
        return None
    return pieces[1][:32]


def api_key_lookup(raw):
    """The active ``ApiKey`` for a raw key string, or ``None``."""
    prefix = raw_key_prefix(raw)
    if prefix is None:
        return None
    key = ApiKey.objects.select_related("merchant").filter(prefix=prefix).first()
    if key is None or not hmac.compare_digest(key.hashed_key, ApiKey.hash(raw)):
        return None
    return key


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = HEADER_PREFIX

    def authenticate(self, request):
        raw = parse_raw_key(request.headers.get("Authorization"))
        if raw is None:
            return None
        key = api_key_lookup(raw)
        if key is None:
            # Counted like a failed sign-in; while the prefix or the address is locked, a wrong
            # key is answered 429 (and not counted). A right key is never refused: its 256-bit
            # secret cannot be guessed, and nobody can lock an integrator out by sending wrong
            # keys with its prefix (and a valid call costs no extra query).
            prefix = raw_key_prefix(raw)
            if not signin.api_key_allowed(request, prefix):
                raise exceptions.Throttled(
                    wait=signin.api_key_lockout_seconds(request, prefix),
                    detail=_("API 密钥验证失败次数过多，已暂时锁定，请稍后再试。"),
                    code="api_key_throttled",
                )
            signin.api_key_failed(request, prefix)
            raise exceptions.AuthenticationFailed(_("API 密钥无效。"), code="api_key_invalid")
        if key.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("API 密钥已吊销。"), code="api_key_revoked")
        if key.merchant_id is not None and not key.merchant.is_active:
            raise exceptions.AuthenticationFailed(
                _("该商家已停用，其 API 密钥不可用；请联系平台。"),
                code="merchant_inactive",
            )
        now = clock.now()
        if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
            key.last_used_at = now
        return IntegratorUser(key), key

    def authenticate_header(self, request):
        return self.keyword


try:  # the OpenAPI schema names this scheme (drf-spectacular finds it by class path)
    from drf_spectacular.extensions import OpenApiAuthenticationExtension

    class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
        target_class = "aftersales.tenancy.auth.ApiKeyAuthentication"
        name = "ApiKeyAuth"

        def get_security_definition(self, auto_schema):
            return {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "`Api-Key as_<prefix>_<secret>`",
            }
except ImportError:  # pragma: no cover
    pass


def _user_with_roles(pk):
    User = get_user_model()
    names = (
        User.groups.through.objects.filter(user_id=OuterRef("pk"))
        .order_by()
        .values("user_id")
        .annotate(names=StringAgg("group__name", Value(ROLE_SEPARATOR)))
        .values("names")
    )
    return (
        User.objects.select_related("merchant_member", "consumer")
        .annotate(role_group_names=Subquery(names))
        .filter(pk=pk)
        .first()
    )


class RoleLoadingBackend(ModelBackend):
    """Django's ``ModelBackend`` whose ``get_user`` (run on every signed-in request) loads what
    ``aftersales.tenancy.actors.actor_for_user`` needs with the user in one query: the merchant
    membership, the consumer profile and the group names (``role_group_names``, joined by
    ``ROLE_SEPARATOR``)."""

    def get_user(self, user_id):
        try:
            pk = int(user_id)
        except (TypeError, ValueError):
            return None
        user = _user_with_roles(pk)
        return user if user is not None and self.user_can_authenticate(user) else None
