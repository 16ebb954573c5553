"""Lantern settings: every knob comes from an environment variable with a safe laptop default."""

from __future__ import annotations

import os
from pathlib import Path

import environ

from audit.schedule import BEAT_SCHEDULE as AUDIT_BEAT_SCHEDULE
from costing.schedule import BEAT_SCHEDULE as COSTING_BEAT_SCHEDULE
from knowledge.schedule import BEAT_SCHEDULE as KNOWLEDGE_BEAT_SCHEDULE

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("LANTERN_VAR_DIR", BASE_DIR / "var"))

# Models and tokenizers are read from installed packages only; nothing is fetched at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

env = environ.Env()

LANTERN_ENV = env.str("LANTERN_ENV", default="development")
PRODUCTION = LANTERN_ENV == "production"

DEBUG = env.bool("DJANGO_DEBUG", default=not PRODUCTION)
SECRET_KEY = (
    env.str("DJANGO_SECRET_KEY")
    if PRODUCTION
    else env.str("DJANGO_SECRET_KEY", default="django-insecure-lantern-development-key-not-for-production")
)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "tenancy",
    "knowledge",
    "chatbot",
    "routing",
    "audit",
    "costing",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
]

MIDDLEWARE = [
    "config.observability.CorrelationIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "config.form_encoding.FormEncodingMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tenancy.middleware.TenantMiddleware",
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
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenancy.context_processors.membership",
            ],
        },
    },
]

# Database: the application connects as a role that owns no table and cannot bypass row-level security;
# migrations run on the "owner" alias. With DATABASE_URL unset, an embedded PostgreSQL 16 with pgvector
# is started under var/ and reused across runs.
if env.str("DATABASE_URL", default=""):
    _app_database = env.db_url("DATABASE_URL")
    _owner_database = (
        env.db_url("DATABASE_OWNER_URL") if env.str("DATABASE_OWNER_URL", default="") else dict(_app_database)
    )
else:
    from config.database import embedded_databases

    _app_database, _owner_database = embedded_databases(VAR_DIR / "pgdata")

for _database in (_app_database, _owner_database):
    _database["ENGINE"] = "django.db.backends.postgresql"
    _database["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
    _database["CONN_HEALTH_CHECKS"] = True
    # Concurrent test runs on one server each name their own database.
    _database["TEST"] = {"NAME": env.str("LANTERN_TEST_DATABASE_NAME", default="test_" + _owner_database["NAME"])}

DATABASES = {"default": _app_database, "owner": _owner_database}
DATABASE_APP_ROLE = _app_database["USER"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: Celery broker and cache when REDIS_URL is set; otherwise tasks run in-process and the cache is local.
REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "lantern",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1, "IGNORE_EXCEPTIONS": True},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "lantern"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
# A task taken by a worker that died without acknowledging it (killed, out of memory, host lost) is delivered
# again once it has been taken this many seconds ago. It must be longer than any task runs, or a slow task is
# handed to a second worker while the first still works on it.
_VISIBILITY_TIMEOUT_SECONDS = env.int("LANTERN_CELERY_VISIBILITY_TIMEOUT", default=3600)
# Publishing fails at once when Redis is away, and the request runs the task itself (config.celery.enqueue).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "max_retries": 0,
    "socket_connect_timeout": 1,
    "visibility_timeout": _VISIBILITY_TIMEOUT_SECONDS,
    # A worker scans for such tasks on every tenth sweep; sweeping every hundredth of the timeout (1 to 10 s)
    # finds them at most a tenth of the timeout after it ran out, but no sooner than 10 s nor later than 100 s.
    "unacked_restore_interval": max(1, min(10, _VISIBILITY_TIMEOUT_SECONDS // 100)),
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "Asia/Taipei"
CELERY_BEAT_SCHEDULE = {
    **COSTING_BEAT_SCHEDULE,
    **AUDIT_BEAT_SCHEDULE,
    **KNOWLEDGE_BEAT_SCHEDULE,
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "chatbot:chat"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = env.str("LANTERN_LANGUAGE", default="zh-hant")
LANGUAGES = [("zh-hant", "繁體中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("LANTERN_TIME_ZONE", default="Asia/Taipei")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns about a missing directory
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = VAR_DIR / "media"

EMAIL_BACKEND = env.str("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="lantern@localhost")

SESSION_COOKIE_AGE = env.int("LANTERN_SESSION_SECONDS", default=8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the chat script reads it to send the token with its POST
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# Logs: JSON lines with the correlation id in production (LANTERN_LOG_FORMAT=json), plain text on a laptop.
# The openai SDK and httpx log request bodies at DEBUG, so they stay at WARNING whatever the level.
LANTERN_LOG_FORMAT = env.str("LANTERN_LOG_FORMAT", default="json" if PRODUCTION else "text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "config.observability.ContextFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(correlation_id)s %(tenant_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LANTERN_LOG_FORMAT, "filters": ["context"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LANTERN_LOG_LEVEL", default="INFO")},
    "loggers": {
        "pgserver": {"level": "WARNING"},
        "presidio-analyzer": {"level": "ERROR"},
        "sentence_transformers": {"level": "WARNING"},
        "openai": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "httpx2": {"level": "WARNING"},
        "httpcore2": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}

# Login throttling (django-axes): a username is locked out from an address after repeated failures.
AUTHENTICATION_BACKENDS = [
    "tenancy.authentication.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LANTERN_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("LANTERN_LOGIN_LOCKOUT_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_PROXY_COUNT = env.int("LANTERN_TRUSTED_PROXY_COUNT", default=0) or None
AXES_VERBOSE = False

# Metrics: /metrics in Prometheus format; with a token set, scrapers must send it as a bearer token.
LANTERN_METRICS_TOKEN = env.str("LANTERN_METRICS_TOKEN", default="")

# Lantern's own settings.
LANTERN_EMBEDDING_MODEL = env.str("LANTERN_EMBEDDING_MODEL", default="")  # empty: the bundled all-MiniLM-L6-v2
LANTERN_EMBEDDING_DIMENSIONS = 384
LANTERN_MATCH_THRESHOLD = env.float("LANTERN_MATCH_THRESHOLD", default=0.21)
LANTERN_MAX_QUESTION_CHARS = env.int("LANTERN_MAX_QUESTION_CHARS", default=2000)
LANTERN_HELP_CONTACT = env.str("LANTERN_HELP_CONTACT", default="HR / IT helpdesk")
LANTERN_LOCAL_BASE_URL = env.str("LANTERN_LOCAL_BASE_URL", default="")
LANTERN_LOCAL_MODEL = env.str("LANTERN_LOCAL_MODEL", default="")
LANTERN_LOCAL_API_KEY = env.str("LANTERN_LOCAL_API_KEY", default="")
LANTERN_CLOUD_BASE_URL = env.str("LANTERN_CLOUD_BASE_URL", default="")
LANTERN_CLOUD_MODEL = env.str("LANTERN_CLOUD_MODEL", default="")
LANTERN_CLOUD_API_KEY = env.str("LANTERN_CLOUD_API_KEY", default="")
LANTERN_BACKEND_TIMEOUT_SECONDS = env.float("LANTERN_BACKEND_TIMEOUT_SECONDS", default=20.0)
LANTERN_BACKEND_MAX_RETRIES = env.int("LANTERN_BACKEND_MAX_RETRIES", default=2)
LANTERN_BREAKER_FAILURE_THRESHOLD = env.int("LANTERN_BREAKER_FAILURE_THRESHOLD", default=5)
LANTERN_BREAKER_COOL_DOWN_SECONDS = env.float("LANTERN_BREAKER_COOL_DOWN_SECONDS", default=30.0)
# Everything an answer may take, fallbacks included; the extractive answerer is always allowed to finish it.
LANTERN_ANSWER_TIME_BUDGET_SECONDS = env.float("LANTERN_ANSWER_TIME_BUDGET_SECONDS", default=60.0)
LANTERN_AUDIT_ENCRYPTION_KEYS = env.list("LANTERN_AUDIT_ENCRYPTION_KEYS", default=[])
# Fernet keys, newest first, for the backend API keys tenant admins store (routing.credentials).
LANTERN_CREDENTIAL_ENCRYPTION_KEYS = env.list("LANTERN_CREDENTIAL_ENCRYPTION_KEYS", default=[])
LANTERN_AUDIT_SIGNING_KEY = env.str("LANTERN_AUDIT_SIGNING_KEY", default="")
LANTERN_AUDIT_SIGNING_KEY_FILE = env.str("LANTERN_AUDIT_SIGNING_KEY_FILE", default="")
LANTERN_KEY_DIR = VAR_DIR / "keys"

# Costing: the exchange rate a new tenant starts with, and how long a budget alert webhook may take.
LANTERN_DEFAULT_NTD_PER_USD = env.str("LANTERN_DEFAULT_NTD_PER_USD", default="32")
LANTERN_WEBHOOK_TIMEOUT_SECONDS = env.float("LANTERN_WEBHOOK_TIMEOUT_SECONDS", default=5.0)

# Chat: questions per minute per person and per tenant (0: no limit).
LANTERN_RATE_LIMIT_USER_PER_MINUTE = env.int("LANTERN_RATE_LIMIT_USER_PER_MINUTE", default=20)
LANTERN_RATE_LIMIT_TENANT_PER_MINUTE = env.int("LANTERN_RATE_LIMIT_TENANT_PER_MINUTE", default=600)

# REST API (Django REST framework) and its OpenAPI schema; Swagger UI served from the app, no CDN.
INSTALLED_APPS += ["rest_framework", "drf_spectacular", "drf_spectacular_sidecar"]
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "chatbot.rest.api_exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "chatbot.rest_parsing.JsonBodyParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Lantern API",
    "DESCRIPTION": "Conversations, questions and feedback; FAQ entries for curators, audit search for auditors and "
    "usage for finance. The OpenAI-compatible API is under /v1/.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "chatbot.rest.document_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "FaqStatusEnum": "knowledge.models.Status",
        "MessageStatusEnum": "chatbot.models.Message.Status",
    },
}
