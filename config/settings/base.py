"""Settings shared by every environment, driven by environment variables.

With no environment at all the platform runs on the embedded default: SQLite and Celery's
filesystem broker under ``var/``, with development secrets generated there on first run.
Setting ``DATABASE_URL`` (PostgreSQL) and ``CELERY_BROKER_URL`` (Redis) switches to the
production-like services without any other change.
"""

import json
import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("AFTERSALES_VAR_DIR", BASE_DIR / "var")).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env(name, default=None):
    value = os.environ.get(name)
    return default if value in (None, "") else value


def env_bool(name, default=False):
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _generated_secret(filename, factory):
    """A development secret kept under var/, created on first use (never in the repository)."""
    path = VAR_DIR / filename
    if not path.exists():
        path.write_text(factory())
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env("SECRET_KEY") or _generated_secret("secret_key", lambda: secrets.token_urlsafe(50))
DEBUG = env_bool("DEBUG", True)
ALLOWED_HOSTS = [
    h.strip() for h in env("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",")
]
CSRF_TRUSTED_ORIGINS = [o for o in env("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

# Sandbox mode lets staff and integrators move the platform clock (ARCHITECTURE.md).
SANDBOX = env_bool("SANDBOX", True)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "django_htmx",
    "axes",
    "aftersales",
    "orders",
    "returns",
    "repairs",
    "complaints",
    "pricing_guard",
    "invoices",
    "demo",  # last: the demo data of every app above (manage.py seed_demo)
]

MIDDLEWARE = [
    "aftersales.api.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Uploads (issue 14): files of a failed request are deleted; kept files bound to the user.
    "aftersales.casefile.uploads.UploadGuardMiddleware",
    "aftersales.casefile.upload_fields.UploadStashMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "aftersales.api.middleware.ApiInputGuardMiddleware",
    "aftersales.api.idempotency.IdempotencyMiddleware",
    # Last: turns a sign-in lockout (django-axes) into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "aftersales.context_processors.platform",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'aftersales.sqlite3'}"),
        conn_max_age=int(env("CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=10000;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif env_bool("DB_PREPARED_STATEMENTS", True):
    # PostgreSQL plans a statement once per connection, not on every run: server-side binding
    # with psycopg's prepared statements, a statement prepared on its second run (planning was
    # most of PostgreSQL's time in a return request's create). DB_PREPARED_STATEMENTS=0 turns it
    # off (behind a pooler in transaction mode without prepared-statement support).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True, prepare_threshold=int(env("DB_PREPARE_THRESHOLD", "2"))
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "aftersales.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses a sign-in while the account or the address is locked (django-axes).
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend, plus the user's roles in the same query (aftersales.tenancy.actors).
    "aftersales.tenancy.auth.RoleLoadingBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# Sessions in the database, read through the shared cache (CACHES): a request with a session
# reads no session row while the cache holds it.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-in throttling (django-axes, aftersales.tenancy.signin): per account and per address,
# LOGIN_FAILURE_LIMIT failures lock for LOGIN_LOCKOUT_MINUTES, each failure after a lock locks
# again for twice as long (up to LOGIN_LOCKOUT_MAX_MINUTES); counts are kept LOGIN_MEMORY_HOURS
# after the last failure. The same counts cover failed API keys (per key prefix and per
# address). Staff unlock in the admin (Axes › Access attempts: delete the row) or with
# `manage.py axes_reset_username <name>` / `axes_reset_ip <address>`.
AXES_HANDLER = "aftersales.tenancy.signin.SignInAttempts"
AXES_FAILURE_LIMIT = int(env("LOGIN_FAILURE_LIMIT", "5"))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_COOLOFF_TIME = "aftersales.tenancy.signin.cool_off"
LOGIN_LOCKOUT_MINUTES = int(env("LOGIN_LOCKOUT_MINUTES", "5"))
LOGIN_LOCKOUT_MAX_MINUTES = int(env("LOGIN_LOCKOUT_MAX_MINUTES", "60"))
LOGIN_MEMORY_HOURS = int(env("LOGIN_MEMORY_HOURS", "24"))
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # a try while locked is not counted
AXES_LOCKOUT_CALLABLE = "aftersales.tenancy.signin.lockout_response"
AXES_RESET_ON_SUCCESS = True
# The address is REMOTE_ADDR (gunicorn faces the clients); behind a proxy, set
# AXES_CLIENT_IP_CALLABLE to read the address the proxy vouches for.

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "zh-hans"
# Each language is named in itself, as the switch shows it.
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]  # i18n-exempt: a language's own name
# Translations live in aftersales/locale (found as an installed app's catalog).
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", VAR_DIR / "static"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = Path(env("MEDIA_ROOT", VAR_DIR / "media"))
# Nothing serves MEDIA_URL: uploads are answered only by views that check access
# (aftersales.casefile.files). Behind nginx, PRIVATE_FILES_ACCEL_REDIRECT names an `internal`
# location aliased to MEDIA_ROOT, and those views answer with X-Accel-Redirect instead of the
# bytes (docs/operations.md, "Uploaded files").
MEDIA_URL = "/media/"
PRIVATE_FILES_ACCEL_REDIRECT = env("PRIVATE_FILES_ACCEL_REDIRECT", "")

# Content Security Policy (Django 6 built-in): same-origin scripts and styles only.
from django.utils.csp import CSP  # noqa: E402

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "aftersales.tenancy.auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "aftersales.api.pagination.IdCursorPagination",
    # Bounded depth, no NUL, bounded file names (issue 19): aftersales/api/parsers.py.
    "DEFAULT_PARSER_CLASSES": [
        "aftersales.api.parsers.JSONParser",
        "aftersales.api.parsers.FormParser",
        "aftersales.api.parsers.MultiPartParser",
    ],
    "PAGE_SIZE": 25,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "aftersales.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "After-sales platform API",
    "DESCRIPTION": (
        "REST API of the after-sales operations platform (after the standard T/EJCCCSE "
        "“E-commerce platform after-sales service requirements”). "
        "Authenticate with `Authorization: Api-Key <key>`; every POST accepts `Idempotency-Key`. "
        'Errors are `{"code", "message", "fields"}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Many models have a "status", "kind" or "scope": name each choice set after its model so
    # that the schema is stable (and check --deploy has no collision warning). Add a line here
    # when a new model's choices share a field name with another's.
    "ENUM_NAME_OVERRIDES": {
        # platform / merchant: API keys and webhook endpoints
        "PlatformOrMerchantScopeEnum": "aftersales.tenancy.models.ApiKey.Scope",
        "PolicyScopeEnum": "aftersales.policies.models.PolicyVersion.Scope",
        "WebhookDeliveryStatusEnum": "aftersales.messaging.models.WebhookDelivery.Status",
        "InboundCallbackStatusEnum": "aftersales.messaging.models.InboundCallback.Status",
        "DeadlineStateEnum": "aftersales.deadlines.models.Deadline.State",
        "HolidayKindEnum": "aftersales.deadlines.models.Holiday.Kind",
        "LogisticsAlertStatusEnum": "orders.models.LogisticsAlert.Status",
        "OrderStatusEnum": "orders.models.Order.Status",
        # pending / succeeded / failed: payments and gateway refunds
        "PaymentStatusEnum": "orders.models.Payment.Status",
        "TenderKindEnum": "orders.models.Tender.Kind",
        "ShipmentStatusEnum": "orders.models.Shipment.Status",
        "TrackingEventKindEnum": "orders.models.TrackingEvent.Kind",
        "PickupBookingStatusEnum": "orders.models.PickupBooking.Status",
        # returns (issue 4)
        "ReturnRequestStatusEnum": "returns.models.ReturnRequestStatus",
        "ReturnRequestKindEnum": "returns.models.ReturnRequestKind",
        "ReturnRequestReasonEnum": "returns.models.ReturnRequestReason",
        "ReturnEvidenceKindEnum": "returns.models.ReturnEvidenceKind",
        "RefundStatusEnum": "returns.models.RefundStatus",
        "ArbitrationStatusEnum": "returns.models.ArbitrationStatus",
        "InspectionRequestStatusEnum": "returns.models.InspectionRequestStatus",
        "InspectionRequestResultEnum": "returns.models.InspectionRequestResult",
        "ExchangeDifferencePaymentStatusEnum": "returns.models.ExchangeDifferencePaymentStatus",
        "ShippingReimbursementStatusEnum": "returns.models.ShippingReimbursementStatus",
        # repairs (issue 5)
        "WarrantyCardStatusEnum": "repairs.models.WarrantyCard.Status",
        "RepairProviderStatusEnum": "repairs.models.RepairProvider.Status",
        "RepairProviderMemberRoleEnum": "repairs.models.RepairProviderMember.Role",
        "RepairOrderStatusEnum": "repairs.models.RepairOrder.Status",
        "RepairServiceModeEnum": "repairs.models.RepairOrder.ServiceMode",
        "RepairResultEnum": "repairs.models.RepairOrder.Result",
        "RepairPaidReasonEnum": "repairs.models.RepairOrder.PaidReason",
        "RepairEvidenceKindEnum": "repairs.models.RepairEvidence.Kind",
        "WarrantyEscalationRuleEnum": "repairs.models.WarrantyEscalation.Rule",
        "WarrantyEscalationStatusEnum": "repairs.models.WarrantyEscalation.Status",
        "WarrantyEscalationResolutionEnum": "repairs.models.WarrantyEscalation.Resolution",
    },
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "Authorization"}
        }
    },
    "SECURITY": [{"ApiKeyAuth": []}, {"cookieAuth": []}],
    # The error responses of every operation, in one place (issue 19).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "aftersales.api.schema.add_error_responses",
    ],
}

# Celery: Redis when CELERY_BROKER_URL is set, else the filesystem broker under var/.
_fs_broker = VAR_DIR / "broker"
CELERY_BROKER_URL = env("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    for sub in ("out", "processed", "control"):
        (_fs_broker / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_fs_broker / "out"),
        "data_folder_out": str(_fs_broker / "out"),
        "processed_folder": str(_fs_broker / "processed"),
        # Broadcast (worker remote control) tables; the default is ./control in the cwd.
        "control_folder": str(_fs_broker / "control"),
        "store_processed": False,
    }
# A request never waits long for a broker that is down (issue 19): a send makes a connection
# attempt of at most BROKER_CONNECT_TIMEOUT seconds and one quick retry, then gives up (the
# worker's own connection still retries for ever); what could not be sent is a row that a
# periodic sweep sends later (deadlines, webhooks, notifications, gateway refunds and
# transfers, pickups, inspections: docs/operations.md).
BROKER_CONNECT_TIMEOUT = float(env("BROKER_CONNECT_TIMEOUT", "1"))
CELERY_BROKER_CONNECTION_TIMEOUT = BROKER_CONNECT_TIMEOUT
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": BROKER_CONNECT_TIMEOUT,
        "socket_timeout": BROKER_CONNECT_TIMEOUT * 2,
        # A task a crashed worker had taken (acks_late) goes back to the queue after this long;
        # the periodic sweeps resend lost work sooner (RECOVERY_SECONDS).
        "visibility_timeout": int(env("BROKER_VISIBILITY_TIMEOUT", "120")),
    }
# Gateway refunds and transfers still pending this long are sent again (orders.tasks, every
# minute): at least once, the gateway deduplicates by request id.
RESUBMIT_AFTER_SECONDS = int(env("RESUBMIT_AFTER_SECONDS", "60"))
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# Worker processes that sweep a deadline backlog together
# (aftersales.deadlines.tasks.sweep_deadlines): the default worker runs one process per core.
DEADLINE_SWEEPERS = int(env("DEADLINE_SWEEPERS", "2"))

# The shared cache of results every process reads (sessions, policies in force, webhook
# endpoints; see aftersales/shared_cache.py): Redis when CACHE_URL is set (production: its own
# Redis database, never the broker's, since clearing a cache flushes its database), else files
# under var/ so that the embedded default's web, worker and beat processes share it.
CACHE_URL = env("CACHE_URL")
# Refuse a timeline verb no app has named for people (aftersales.casefile.timeline); the tests
# turn it on.
TIMELINE_VERBS_STRICT = env_bool("TIMELINE_VERBS_STRICT", False)
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "aftersales",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# Personal data (RULES.md D1): keys live apart from SECRET_KEY. PII_KEYS is a JSON object
# {"keys": {"<key id>": "<base64 32 bytes>"}, "active": "<key id>", "index_key": "<base64>"};
# in development it is generated under var/.
PII_KEYS_FILE = Path(env("PII_KEYS_FILE", VAR_DIR / "pii_keys.json"))
PII_KEYS = env("PII_KEYS")

# The complaint log's checkpoint signing key (RULES.md C6): an Ed25519 private key, base64 of
# its 32 raw bytes, from COMPLAINT_LOG_KEY; in development generated under var/.
COMPLAINT_LOG_KEY = env("COMPLAINT_LOG_KEY")
COMPLAINT_LOG_KEY_FILE = Path(env("COMPLAINT_LOG_KEY_FILE", VAR_DIR / "complaint_log_key"))

EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = VAR_DIR / "mail"
# The sender's display name is one per deployment (set by env), not per recipient.
DEFAULT_FROM_EMAIL = env(
    "DEFAULT_FROM_EMAIL",
    "售后平台 <noreply@aftersales.example>",  # i18n-exempt: one sender name per deployment
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Platform URL printed by the run command and used in notifications.
PLATFORM_URL = env("PLATFORM_URL", "http://127.0.0.1:8000")
SPECTACULAR_SETTINGS.update(
    {
        "SWAGGER_UI_DIST": "SIDECAR",
        "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
        "REDOC_DIST": "SIDECAR",
    }
)

# Inbound callbacks (payment/carrier/inspection adapters): per-provider HMAC secrets as JSON
# {"payment": "...", "carrier": "...", "inspection": "..."}; in development generated under var/.
CALLBACK_SECRETS = json.loads(env("CALLBACK_SECRETS", "{}"))
CALLBACK_SECRETS_FILE = VAR_DIR / "callback_secrets.json"
CALLBACK_MAX_AGE_SECONDS = 300
SMS_PROVIDER = env("SMS_PROVIDER", "aftersales.messaging.sms.SandboxSmsProvider")
WEBHOOK_TIMEOUT_SECONDS = int(env("WEBHOOK_TIMEOUT_SECONDS", "5"))
# WEBHOOK_ALLOW_HTTP defaults to SANDBOX (production requires https endpoints).
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "NotificationChannelEnum": "aftersales.messaging.models.NotificationChannel",
        "NotificationDeliveryStatusEnum": "aftersales.messaging.models.DeliveryStatus",
        "WebhookDeliveryStatusEnum": "aftersales.messaging.models.WebhookDelivery.Status",
        "ComplaintStatusEnum": "complaints.models.ComplaintStatus",
        "ComplaintChannelEnum": "complaints.models.ComplaintChannel",
    }
)

# Adapters to outside parties (orders/adapters): dotted paths, sandbox by default.
PAYMENT_GATEWAY = env("PAYMENT_GATEWAY", "orders.adapters.payment.SandboxPaymentGateway")
CARRIER = env("CARRIER", "orders.adapters.carrier.SandboxCarrier")
SANDBOX_ADAPTER_DELAY_SECONDS = float(env("SANDBOX_ADAPTER_DELAY_SECONDS", "3"))
SANDBOX_CARRIER_STEP_SECONDS = float(env("SANDBOX_CARRIER_STEP_SECONDS", "5"))
SANDBOX_PAYMENT_FAIL = env("SANDBOX_PAYMENT_FAIL", "")  # "always": every sandbox refund times out
SANDBOX_PAYMENT_MAX_ATTEMPTS = int(env("SANDBOX_PAYMENT_MAX_ATTEMPTS", "4"))
SANDBOX_TASK_QUEUE = env("SANDBOX_TASK_QUEUE")  # None: the default queue
