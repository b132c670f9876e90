"""Test settings: PostgreSQL and Redis when their URLs are set (CI always sets them)."""

from .base import *  # noqa: F401,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SANDBOX = True
DEBUG = False
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
SANDBOX_ADAPTER_DELAY_SECONDS = 0.5
SANDBOX_CARRIER_STEP_SECONDS = 0.5
