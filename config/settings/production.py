"""Production settings: secrets from the environment, HTTPS only, no sandbox clock.

Refuses to start without ``SECRET_KEY`` and ``PII_KEYS`` in the environment (nothing is
generated under ``var/`` here), and passes ``manage.py check --deploy`` without a warning.
``HTTPS=false`` turns the HTTPS-only settings off for a plain-HTTP local ``docker compose up``;
behind a TLS-terminating proxy leave it on (the default).
"""

import json
import os

from django.core.exceptions import ImproperlyConfigured


def _required_env():
    """Check the secrets before the base settings run (so that they generate nothing)."""
    if not os.environ.get("SECRET_KEY"):
        raise ImproperlyConfigured("SECRET_KEY must be set in the environment in production.")
    if len(os.environ["SECRET_KEY"]) < 50 or len(set(os.environ["SECRET_KEY"])) < 5:
        raise ImproperlyConfigured("SECRET_KEY must be at least 50 random characters.")
    raw = os.environ.get("PII_KEYS")
    if not raw:
        raise ImproperlyConfigured(
            "PII_KEYS must be set in the environment in production (RULES.md D1): "
            '{"keys": {"<id>": "<base64 32 bytes>"}, "active": "<id>", "index_key": "<base64>"}; '
            "bin/generate-env prints one."
        )
    try:
        ring = json.loads(raw)
        valid = ring["active"] in ring["keys"] and bool(ring["index_key"])
    except (ValueError, KeyError, TypeError):
        valid = False
    if not valid:
        raise ImproperlyConfigured("PII_KEYS is not a valid key ring (keys, active, index_key).")


_required_env()

from .base import *  # noqa: E402,F401,F403
from .base import env, env_bool  # noqa: E402

DEBUG = False
SANDBOX = env_bool("SANDBOX", False)

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed names, compressed copies, served by WhiteNoise with far-future cache headers.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

HTTPS = env_bool("HTTPS", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS)
SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", "31536000" if HTTPS else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
