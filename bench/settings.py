"""Settings of the benchmark: the product's settings, production-like, plus the bare view.

``ROOT_URLCONF`` adds ``/bench/bare-orders/`` to the product's URLs here only: the bare view is
never part of the product. ``BENCH_SYNCDB=1`` builds the project's tables from the models
(``migrate --run-syncdb``) instead of their migrations, for development while migrations are
being regenerated; the default is the normal ``migrate``.
"""

from bench._common import CACHE_URL as BENCH_CACHE_URL
from config.settings.base import *  # noqa: F401,F403
from config.settings.base import INSTALLED_APPS, env_bool

DEBUG = False
# As in production: no sandbox clock unless asked for (SANDBOX=1 adds its cached offset read).
SANDBOX = env_bool("SANDBOX", False)
ROOT_URLCONF = "bench.urls"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
# As in production: the shared cache (sessions, policies, webhook endpoints) in Redis.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": BENCH_CACHE_URL,
        "KEY_PREFIX": "aftersales",
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}

if env_bool("BENCH_SYNCDB"):
    # Every app, as pytest's --nomigrations does: synced project tables point at auth's.
    MIGRATION_MODULES = {app.rsplit(".", 1)[-1]: None for app in INSTALLED_APPS}
