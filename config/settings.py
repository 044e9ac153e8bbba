"""One settings module; the environment decides the rest (SPEC §8).

Nothing set: SQLite in the project and tasks run in-process (the embedded quickstart).
`DATABASE_URL` / `REDIS_URL` set: PostgreSQL and Celery workers over Redis.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", False)
_secret = env_str("DJANGO_SECRET_KEY")
if _secret is None:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is required unless DJANGO_DEBUG=true")
    _secret = "insecure-local-development-key-do-not-use-in-production"
SECRET_KEY = _secret
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "accounts",
    "contacts",
    "mqa",
    "tracking",
]

MIDDLEWARE = [
    # First, so that its request id, log line and metrics cover everything after it.
    "mqa.ops.middleware.RequestMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files in production, compressed and cache-busted (no separate web server needed).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: it locks out a login that failed too often (admin and review pages).
    "axes.middleware.AxesMiddleware",
]
# After the request id and before the rest: NUL characters in an API path or query are a 400
# and an unreachable database a 503, as problems on API paths (SPEC §7).
MIDDLEWARE.insert(1, "mqa.ops.middleware.ProblemMiddleware")

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # the admin's base_site.html, over Django's (an app's copy would come after its own)
        "DIRS": [BASE_DIR / "config" / "templates"],
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

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}") or "",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        # A connection PostgreSQL dropped (restart, failover) is replaced, not reused for a 500.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded quickstart, where the web server and the scheduler write to one file:
    # readers never wait (WAL), a writer waits up to 20 s for another, and a transaction takes
    # the write lock when it begins, so two of them never deadlock upgrading a read lock
    # ("database is locked").
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0
# A PostgreSQL streaming replica for the read endpoints and review pages (mqa/ops/replica.py,
# docs/deploy.md). Unset: no router and no middleware, every query on `default`.
_replica_url = env_str("DATABASE_REPLICA_URL")
if _replica_url:
    DATABASES["replica"] = dj_database_url.parse(
        _replica_url,
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
        # Tests read the default test database through it: no second test database.
        test_options={"MIRROR": "default"},
    )
    # A replica that does not answer falls back to the primary quickly, not after TCP's timeout.
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env_int("DATABASE_REPLICA_CONNECT_TIMEOUT", 3)
    )
    DATABASE_ROUTERS = ["mqa.ops.replica.ReplicaRouter"]
    # After the request id and the problems, around everything else that may read.
    MIDDLEWARE.insert(2, "mqa.ops.replica.ReplicaMiddleware")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("MQA_PASSWORD_MIN_LENGTH", 12)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Brute force on the login (admin and review pages): after MQA_LOGIN_FAILURES wrong passwords
# for one user name from one address, that pair is locked out for MQA_LOGIN_LOCKOUT_MINUTES.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("MQA_LOGIN_FAILURES", 5)
AXES_COOLOFF_TIME = env_float("MQA_LOGIN_LOCKOUT_MINUTES", 30.0) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_IPWARE_PROXY_COUNT = env_int("DJANGO_PROXY_COUNT", 0) or None

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("MQA_STATIC_ROOT") or BASE_DIR / "var" / "static")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Outside debug, `collectstatic` (run by `make serve`) writes hashed, compressed copies.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "config.storage.StaticStorage"
    },
}

# Behind a TLS-terminating proxy (docs/deploy.md): it sets X-Forwarded-Proto; everything but
# the probes is redirected to https, cookies are secure and browsers are told to stay on https.
SECURE_PROXY = env_bool("DJANGO_SECURE_PROXY", False)
if SECURE_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# `text` for the quickstart; `json` (one object a line, with request / API key / task ids)
# for servers — `make serve` sets it, with LOG_LEVEL=INFO for one line per request.
MQA_LOG_FORMAT = env_str("MQA_LOG_FORMAT", "text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "config.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if MQA_LOG_FORMAT == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}
# `GET /metrics` asks for `Authorization: Bearer <token>` when this is set.
MQA_METRICS_TOKEN = env_str("MQA_METRICS_TOKEN")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["mqa.api.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["mqa.http.bodies.JsonParser"],
    "EXCEPTION_HANDLER": "mqa.http.problems.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["mqa.api.throttles.AddressLimit", "mqa.api.throttles.KeyLimit"],
    "NUM_PROXIES": env_int("DJANGO_PROXY_COUNT", 0) or None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MQA service API",
    "DESCRIPTION": "Score contacts as MQLs, roll them up to MQA accounts, route to sales.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # Served from the installed sidecar package: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "mqa.api.schema.document_problems",
        "mqa.api.webhook_docs.document_webhooks",
    ],
}
# Request limits (SPEC §7): `N/s`, `N/min`, `N/hour`, or `none`. Generous by default —
# they stop a runaway client, not a busy integration; bulk ingest (≤ 1000 items a request)
# has its own.
MQA_RATE_PER_ADDRESS = env_str("MQA_RATE_PER_ADDRESS", "6000/min")
MQA_RATE_PER_KEY = env_str("MQA_RATE_PER_KEY", "3000/min")
MQA_RATE_INGEST_PER_KEY = env_str("MQA_RATE_INGEST_PER_KEY", "12000/min")
# A verified API key is remembered in each web process for this many seconds (0: never), so a
# revoked key is refused everywhere within it (at once by the process that revoked it).
MQA_API_KEY_CACHE_SECONDS = env_float("MQA_API_KEY_CACHE_SECONDS", 5.0)
# The limits' counters: shared by every web process through Redis when there is one.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": _redis,
        # Redis down or hung must not hold requests (the limits then let them through).
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
    if (_redis := env_str("REDIS_URL"))
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
# Bulk bodies are capped at 1 MB by the API itself (413); let Django read a little more.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Celery: with REDIS_URL unset, tasks run in-process when their transaction commits.
REDIS_URL = env_str("REDIS_URL")
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_TASK_ALWAYS_EAGER = REDIS_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A broker that is down must not make ingest fail: the work is already durable in the
# database and the sweeper re-enqueues it, so publishing gives up quickly.
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_TASK_PUBLISH_RETRY = False
# Workers log through Django's LOGGING (JSON under `make serve`), not Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Scoring pipeline (operational knobs, not business settings).
MQA_BATCH_SIZE = env_int("MQA_BATCH_SIZE", 500)
MQA_RESCORE_CHUNK = env_int("MQA_RESCORE_CHUNK", 2000)  # records per chunk, per-record path
# At most so many records per chunk of the set-based rescore (PostgreSQL): bounds its memory.
MQA_BULK_CHUNK = env_int("MQA_BULK_CHUNK", 100_000)
MQA_BULK_ACCOUNT_CHUNK = env_int("MQA_BULK_ACCOUNT_CHUNK", 10_000)  # an account rolls up many
MQA_RESCORE_LANES = env_int("MQA_RESCORE_LANES", 2)  # workers sharing a full rescore
# Embedded mode (`make demo`): a publish only records its rescore, and the scheduler process
# (`manage.py run_scheduler`) runs it, so the request answers at once.
MQA_RESCORE_IN_SCHEDULER = env_bool("MQA_RESCORE_IN_SCHEDULER", False)
MQA_BULK_WORK_MEM_MB = env_int("MQA_BULK_WORK_MEM_MB", 256)  # sort memory for set-based scoring
# PostgreSQL's JIT for set-based scoring's statements: off by default (docs/benchmarks.md).
MQA_SQL_JIT = env_bool("MQA_SQL_JIT", False)
# A bound on each statement of set-based scoring: PostgreSQL evaluates rule regexes there with
# its own engine, which (unlike RE2 on the Python side) is not guaranteed linear (SPEC §3).
MQA_SQL_STATEMENT_TIMEOUT_MS = env_int("MQA_SQL_STATEMENT_TIMEOUT_MS", 60_000)
# A running batch renews its lease every third of it: a killed worker's batch is claimable
# again within a lease of its last renewal, and picked up at the next sweep (≤ 45 s).
MQA_WORK_LEASE_SECONDS = env_int("MQA_WORK_LEASE_SECONDS", 30)
MQA_SWEEP_SECONDS = env_int("MQA_SWEEP_SECONDS", 15)
# SPEC §4: time passing is re-evaluated at least every 15 minutes.
MQA_TIME_REFRESH_SECONDS = env_int("MQA_TIME_REFRESH_SECONDS", 900)
# At most so many records per chunk of a time refresh's rescore: a chunk's score rows stay
# locked until it commits, and new data for them waits that long (set-based path).
MQA_TIME_REFRESH_CHUNK = env_int("MQA_TIME_REFRESH_CHUNK", 10_000)
# Calibration backtests recommend no threshold from fewer conversions than this (the API and
# the `calibrate` command may ask for more or fewer, never fewer than 1).
MQA_CALIBRATION_MIN_CONVERSIONS = env_int("MQA_CALIBRATION_MIN_CONVERSIONS", 30)
# ... nor points (a suggestion) where the conversion rate at the suggested total has a 95%
# interval wider than this (a backtest's thresholds take theirs per request).
MQA_CALIBRATION_MAX_INTERVAL_WIDTH = env_float("MQA_CALIBRATION_MAX_INTERVAL_WIDTH", 0.2)

# Webhooks and routing.
MQA_WEBHOOKS_ALLOW_PRIVATE = env_bool("MQA_WEBHOOKS_ALLOW_PRIVATE", False)
MQA_WEBHOOK_MAX_ATTEMPTS = env_int("MQA_WEBHOOK_MAX_ATTEMPTS", 10)
MQA_WEBHOOK_BACKOFF_SECONDS = env_float("MQA_WEBHOOK_BACKOFF_SECONDS", 30.0)
MQA_WEBHOOK_TIMEOUT_SECONDS = env_int("MQA_WEBHOOK_TIMEOUT_SECONDS", 10)
MQA_SLA_CHECK_SECONDS = env_int("MQA_SLA_CHECK_SECONDS", 30)
# An open handoff this close to its due time is announced as `handoff.sla_due_soon`, once.
MQA_SLA_WARN_MINUTES = env_int("MQA_SLA_WARN_MINUTES", 60)
# Alerts by email go through Django's SMTP backend (MQA_EMAIL_BACKEND to change it).
EMAIL_BACKEND = env_str("MQA_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "mqa@localhost")

# Readiness (`/readyz`): a worker ran the heartbeat task this recently; pending work this old.
MQA_HEARTBEAT_SECONDS = env_int("MQA_HEARTBEAT_SECONDS", 15)
MQA_HEARTBEAT_MAX_AGE_SECONDS = env_int("MQA_HEARTBEAT_MAX_AGE_SECONDS", 60)
MQA_READY_MAX_LAG_SECONDS = env_int("MQA_READY_MAX_LAG_SECONDS", 300)

CELERY_BEAT_SCHEDULE = {
    "mqa-sweep-pending-work": {
        "task": "mqa.tasks.pipeline_sweep",
        "schedule": float(MQA_SWEEP_SECONDS),
    },
    "mqa-mark-breached-slas": {
        "task": "mqa.tasks.handoffs_mark_breached",
        "schedule": float(MQA_SLA_CHECK_SECONDS),
    },
    "mqa-worker-heartbeat": {
        "task": "mqa.tasks.worker_heartbeat",
        "schedule": float(MQA_HEARTBEAT_SECONDS),
    },
    "mqa-refresh-time-sensitive-scores": {
        "task": "mqa.tasks.scores_refresh_for_time",
        "schedule": float(MQA_TIME_REFRESH_SECONDS),
    },
}
