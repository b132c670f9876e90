"""Test settings: PostgreSQL and Redis when their URLs are set (CI always sets them)."""

import os

from .base import *  # noqa: F401,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SANDBOX = True
# Every test that records a timeline verb no app named for people fails (no raw verb on a page).
TIMELINE_VERBS_STRICT = True
DEBUG = False
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Uploads of each pytest worker apart: the two workers' databases hand out the same ids, and an
# upload path holds the case's id (bin/run-tests empties the folder before a run).
MEDIA_ROOT = MEDIA_ROOT / os.environ.get("PYTEST_XDIST_WORKER", "main")  # noqa: F405
# One cache per test process (two pytest workers must not see each other's policies); the
# conftest empties it before every test, as each test's database is rolled back.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
SANDBOX_ADAPTER_DELAY_SECONDS = 0.5
SANDBOX_CARRIER_STEP_SECONDS = 0.5

# Every log record of a test run also goes to a file per process under var/test/log/pytest/, so
# that tests/test_personal_data_in_logs.py can scan what the whole run logged for the demo
# consumers' phones, names and streets (issue 19). The files are removed when a run starts
# (conftest.py); subprocesses with these settings (Celery workers) write their own.
TEST_LOG_DIR = VAR_DIR / "log" / "pytest"  # noqa: F405
TEST_LOG_DIR.mkdir(parents=True, exist_ok=True)
LOGGING = {
    **LOGGING,  # noqa: F405
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        **LOGGING["handlers"],  # noqa: F405
        "run_file": {
            "class": "logging.FileHandler",
            "filename": str(
                TEST_LOG_DIR / f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{os.getpid()}.log"
            ),
            "encoding": "utf-8",
            "delay": True,
            "formatter": "plain",
        },
    },
    "root": {**LOGGING["root"], "handlers": [*LOGGING["root"]["handlers"], "run_file"]},  # noqa: F405
}
