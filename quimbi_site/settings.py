"""Quimbi settings: one module, read through django-environ.

Every value has an embedded default so that `make run` and `make test` work on
a bare machine (SQLite, local-memory cache, eager Celery, offline generation).
Production sets the variables documented in README.md.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Core -------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=True)
# The embedded key is only for local runs; check --deploy rejects it.
SECRET_KEY = env.str(
    "DJANGO_SECRET_KEY",
    default="django-insecure-local-development-key-never-use-in-production",
)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# all: platform and applications in one process; platform / apps: split deployments.
QUIMBI_ROLE = env.str("QUIMBI_ROLE", default="all")
# Real data the demo loads (CDNOW purchases, support tickets): ../shared/data beside the checkout.
QUIMBI_SHARED_DATA = Path(env.str("QUIMBI_SHARED_DATA", default=str(BASE_DIR.parent / "shared" / "data")))
QUIMBI_PLATFORM_URL = env.str("QUIMBI_PLATFORM_URL", default="")
QUIMBI_PLATFORM_API_KEY = env.str("QUIMBI_PLATFORM_API_KEY", default="")
# Where the public reaches this site: absolute links in e-mails (unsubscribe). https in production:
# Gmail and Yahoo accept only an https List-Unsubscribe URL for one-click (RFC 8058).
QUIMBI_PUBLIC_URL = env.str("QUIMBI_PUBLIC_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_api_key",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "quimbi_site",
    "ingestion",
    "intelligence",
    "generation",
    "support",
    "marketing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves collectstatic's files (admin, API docs, agent pages) from gunicorn, compressed and
    # cached; runserver keeps serving them from the apps in development.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "quimbi_site.middleware.ApiRequestSizeLimitMiddleware",
    "quimbi_site.middleware.ApiNotFoundMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "quimbi_site.middleware.AuditContextMiddleware",
    "quimbi_site.middleware.IdempotencyKeyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "quimbi_site.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "quimbi_site.urls"
WSGI_APPLICATION = "quimbi_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# SQLite: WAL + a busy timeout let the dev server's threads and a worker share the file, and
# transactions take the write lock when they begin. A transaction that began by reading and then
# writes cannot wait for another writer (its snapshot would be stale): SQLite fails it at once,
# whatever the timeout, so two requests storing at the same moment would get a 503.
SQLITE_OPTIONS = {
    "timeout": 20,
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(SQLITE_OPTIONS)
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


# --- Cache ------------------------------------------------------------------
def redis_cache(url: str) -> dict:
    """The default cache on Redis at `url` (also what the cache-outage tests point at a dead port)."""
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": url,
        "TIMEOUT": 900,
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            # A cache outage degrades to cache misses, never to errors.
            "IGNORE_EXCEPTIONS": True,
            "SOCKET_CONNECT_TIMEOUT": 0.5,
            "SOCKET_TIMEOUT": 0.5,
        },
        "KEY_PREFIX": "quimbi",
    }


_cache_url = env.str("CACHE_URL", default="") or env.str("REDIS_URL", default="")
if _cache_url.startswith(("redis://", "rediss://")):
    _default_cache = redis_cache(_cache_url)
else:
    _default_cache = {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "quimbi-default",
        "TIMEOUT": 900,
    }
CACHES = {
    "default": _default_cache,
    # Throttle counters live in the database so rate limits hold while Redis is down.
    "throttle": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "quimbi_throttle_cache",
        "OPTIONS": {"MAX_ENTRIES": 100_000},
    },
}
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True

# --- Celery -----------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# No broker configured: run tasks in-process so nothing needs a server.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    # Nothing is sent anywhere; left empty, Celery would assume amqp://localhost and warn
    # "No hostname was supplied" on every task, as if a broker were misconfigured.
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Redis broker: a message taken by a worker that died unacknowledged is handed out again after
# this many seconds. It must exceed the longest task (and any countdown), or a task still
# running is given to a second worker.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_BROKER_VISIBILITY_TIMEOUT", default=3600),
}
# Tasks still running when the broker connection drops cannot be acknowledged and will be
# redelivered: cancel them rather than let them finish alongside their redelivery.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict = {}


def _app_beat_schedules() -> dict:
    # Each app (and the site itself) declares its periodic tasks in <app>/schedule.py (plain dicts).
    from importlib import import_module

    merged: dict = {}
    for app in ("quimbi_site", "ingestion", "intelligence", "generation", "support", "marketing"):
        merged.update(import_module(f"{app}.schedule").BEAT_SCHEDULE)
    return merged


CELERY_BEAT_SCHEDULE.update(_app_beat_schedules())

# --- Auth, i18n, static -----------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
# Back to the login form: Django's own "Logged out" page answers the logout POST, so the back
# button from it asks to send the form again.
LOGOUT_REDIRECT_URL = LOGIN_URL
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="support@quimbi.local")

# --- API --------------------------------------------------------------------
# Batches are capped at 5,000 records and 5 MB (413 above either).
QUIMBI_MAX_BATCH_RECORDS = 5_000
QUIMBI_MAX_REQUEST_BYTES = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = QUIMBI_MAX_REQUEST_BYTES
IDEMPOTENCY_KEY_TTL_HOURS = 24
# Audit events older than this are deleted daily (quimbi_site.tasks.audit_events_prune).
QUIMBI_AUDIT_RETENTION_DAYS = env.int("QUIMBI_AUDIT_RETENTION_DAYS", default=365)
API_KEY_CUSTOM_HEADER = "HTTP_X_API_KEY"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "quimbi_site.api.auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["quimbi_site.api.auth.HasApiKeyOrStaff"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["quimbi_site.api.parsers.StrictJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "quimbi_site.api.schema.QuimbiAutoSchema",
    "EXCEPTION_HANDLER": "quimbi_site.api.exceptions.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "quimbi_site.api.pagination.CappedPageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": ["quimbi_site.api.throttling.ScopedDatabaseThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "ingestion": env.str("QUIMBI_THROTTLE_INGESTION", default="6000/min"),
        "generation": env.str("QUIMBI_THROTTLE_GENERATION", default="600/min"),
        "intelligence": env.str("QUIMBI_THROTTLE_INTELLIGENCE", default="12000/min"),
        "marketing": env.str("QUIMBI_THROTTLE_MARKETING", default="600/min"),
        "support": env.str("QUIMBI_THROTTLE_SUPPORT", default="6000/min"),
    },
    "NUM_PROXIES": env.int("DJANGO_NUM_PROXIES", default=0),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Quimbi API",
    "DESCRIPTION": (
        "Customer intelligence platform: ingestion, intelligence and generation, "
        "plus the support and marketing applications. Authenticate with `X-API-Key`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "APPEND_COMPONENTS": {
        "securitySchemes": {"ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}
    },
    "SECURITY": [{"ApiKeyAuth": []}],
    # Several apps name a field "status", "channel", "goal" or "kind" with different choices.
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "support.models.tickets.Ticket.Status",
        "TicketChannelEnum": "support.models.tickets.Ticket.Channel",
        "TicketMessageKindEnum": "support.models.tickets.Message.Kind",
        "CampaignGoalEnum": "marketing.models.Goal",
    },
}

# --- Integrations -----------------------------------------------------------
SHOPIFY_WEBHOOK_SECRET = env.str("SHOPIFY_WEBHOOK_SECRET", default="quimbi-local-shopify-secret")
ANTHROPIC_API_KEY = env.str("ANTHROPIC_API_KEY", default="")
GENERATION_BACKEND = env.str(
    "GENERATION_BACKEND",
    default=(
        "generation.backends.anthropic.AnthropicBackend"
        if ANTHROPIC_API_KEY
        else "generation.backends.offline.OfflineBackend"
    ),
)
ANTHROPIC_MODEL = env.str("ANTHROPIC_MODEL", default="claude-sonnet-4-6")
ANTHROPIC_MAX_TOKENS = env.int("ANTHROPIC_MAX_TOKENS", default=1024)
ANTHROPIC_TIMEOUT_SECONDS = env.float("ANTHROPIC_TIMEOUT_SECONDS", default=30.0)
ANTHROPIC_MAX_RETRIES = env.int("ANTHROPIC_MAX_RETRIES", default=2)
# One budget for a whole call, retries and back-off included (then the offline answer).
ANTHROPIC_DEADLINE_SECONDS = env.float("ANTHROPIC_DEADLINE_SECONDS", default=45.0)
GENERATION_DAILY_TOKEN_BUDGET = env.int("GENERATION_DAILY_TOKEN_BUDGET", default=200_000)
# The smallest credit or money off a draft proposes (shop currency): a dollar or two reads as token.
GENERATION_MIN_OFFER_VALUE = env.float("GENERATION_MIN_OFFER_VALUE", default=5.0)

# --- Platform and applications ---------------------------------------------
QUIMBI_INTELLIGENCE_HORIZON_DAYS = env.int("QUIMBI_INTELLIGENCE_HORIZON_DAYS", default=365)
QUIMBI_INTELLIGENCE_CACHE_SECONDS = env.int("QUIMBI_INTELLIGENCE_CACHE_SECONDS", default=3600)
QUIMBI_ML_THREADS = env.int("QUIMBI_ML_THREADS", default=None)
QUIMBI_RESCORE_CHUNK = 500
QUIMBI_PLATFORM_TIMEOUT_SECONDS = env.float("QUIMBI_PLATFORM_TIMEOUT_SECONDS", default=3.0)
SUPPORT_FROM_EMAIL = env.str("SUPPORT_FROM_EMAIL", default="")
# Beat queues again what a lost or failed task still owes after these many minutes: interaction
# reports and reply e-mails (support), campaign sends whose outbox stopped growing (marketing).
SUPPORT_FOLLOWUP_AFTER_MINUTES = env.int("SUPPORT_FOLLOWUP_AFTER_MINUTES", default=5)
MARKETING_SEND_STALL_MINUTES = env.int("MARKETING_SEND_STALL_MINUTES", default=30)
GENERATION_BREAKER_THRESHOLD = env.int("GENERATION_BREAKER_THRESHOLD", default=5)
GENERATION_BREAKER_COOLDOWN_SECONDS = env.float("GENERATION_BREAKER_COOLDOWN_SECONDS", default=60.0)

# --- Production hardening ---------------------------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="WARNING")},
}
