"""Settings for leguas-whatsapp: one file, driven by the environment (.env.example lists it all)."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from leguas.env import env_bool, env_float, env_int, env_list, env_secret, env_str, var_dir
from whatsapp.queues import CELERY_QUEUES, TASK_ROUTES, QueueTimeLimits

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = var_dir(BASE_DIR)

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_secret("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Production starts need one: generate it with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'` and set SECRET_KEY "
            "(or SECRET_KEY_FILE). Set DEBUG=true for a local development run instead."
        )
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "axes",
    "whatsapp",
]

MIDDLEWARE = [
    # First, so that it sees every database failure, including those of the middleware below.
    "whatsapp.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # django-csp's, passing over the API's answers, which carry their own policy (whatsapp/csp.py).
    "whatsapp.csp_middleware.CSPMiddleware",
    # Last, as django-axes asks: it answers a locked-out login with its own response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "leguas.urls"
WSGI_APPLICATION = "leguas.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The send path's statements are bound on the server (whatsapp/services/hot_move.py): with a
    # threshold, psycopg prepares each after five runs on a connection, and PostgreSQL plans it
    # once instead of once per message. Django leaves it off for connection poolers that do not
    # keep prepared statements (PgBouncer in transaction mode before 1.21): say false behind one.
    DATABASES["default"]["OPTIONS"] = {
        **DATABASES["default"].get("OPTIONS", {}),
        "prepare_threshold": 5 if env_bool("DATABASE_PREPARE_STATEMENTS", True) else None,
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default serves the web process, three workers and beat at once. WAL lets
    # readers go on while one writes; IMMEDIATE takes the write lock at BEGIN, so a transaction
    # waits for it (up to `timeout` seconds) instead of failing with "database is locked" when it
    # tries to upgrade a read lock that another writer already holds.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": env_int("SQLITE_BUSY_TIMEOUT", 30),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: a locked-out user or address is refused before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling (the dashboard's and the admin's login): after AXES_FAILURE_LIMIT wrong
# passwords, that user name and that address are each locked out for AXES_COOLOFF_HOURS.
# `manage.py axes_reset` (or axes_reset_username NAME) lifts a lockout; the admin lists them.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_float("AXES_COOLOFF_HOURS", 1.0)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "whatsapp/locked_out.html"
# One notion of the client's address for lockouts and the audit log (WHATSAPP["PROXY_COUNT"]).
AXES_CLIENT_IP_CALLABLE = "whatsapp.audit.client_address"
# Sessions read through the cache: every dashboard poll needs one, the database keeps them safe.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# Internationalisation: the operations staff write Brazilian Portuguese; English is available.
LANGUAGE_CODE = "pt-br"
LANGUAGES = [("pt-br", _("Portuguese (Brazil)")), ("en", _("English"))]
TIME_ZONE = env_str("TIME_ZONE", "America/Sao_Paulo")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
if DEBUG:
    # whitenoise warns on every request when the collectstatic target is missing.
    STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
    # Files sent and received (WHATSAPP["MEDIA_STORAGE"]). Never served by a URL of its own: the
    # app streams a file to those allowed to read it. Web and workers must share it (compose
    # mounts one volume here); S3 and others through django-storages (docs/operations.md).
    "whatsapp_media": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": env_str("WHATSAPP_MEDIA_DIR", str(VAR_DIR / "media")),
            "directory_permissions_mode": 0o750,
            "file_permissions_mode": 0o640,
        },
    },
}

# Security: strict by default outside DEBUG; each can be relaxed behind a TLS-terminating proxy.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Health probes and the gateway's webhooks come over plain HTTP from inside the network.
SECURE_REDIRECT_EXEMPT = [
    r"^healthz/?$",
    r"^readyz/?$",
    r"^metrics/?$",
    r"^whatsapp/webhooks/",
]
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): only the app's own scripts, styles and images (and data:
# images, for the QR code); no inline script or style, no plugin, no framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# JSON callers get a JSON 403 for a missing CSRF token, browsers the usual page.
CSRF_FAILURE_VIEW = "whatsapp.views.errors.csrf_failure"

# Cache: shared between processes (the "one refresh however many pollers" guard lives here).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
BROKER_IS_REDIS = CELERY_BROKER_URL.startswith(("redis://", "rediss://"))


def _cache_from_url(url: str) -> dict[str, object]:
    if url.startswith(("redis://", "rediss://")):
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    if url.startswith("file://"):
        return {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": url.removeprefix("file://"),
        }
    if url.startswith("locmem://"):
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    raise ImproperlyConfigured(
        f"CACHE_URL must start with redis://, file:// or locmem://, not {url!r}."
    )


def _default_cache_url() -> str:
    if BROKER_IS_REDIS:
        # Same server as the broker, another database number, so a FLUSHDB of one spares the other.
        base, _sep, _db = CELERY_BROKER_URL.rpartition("/")
        return f"{base}/1" if _db.isdigit() else f"{CELERY_BROKER_URL.rstrip('/')}/1"
    return f"file://{VAR_DIR / 'cache'}"


CACHES = {"default": _cache_from_url(env_str("CACHE_URL") or _default_cache_url())}

# --- Celery: reliability first; the database row is the source of truth (docs/architecture.md).
# Only JSON crosses the broker: no pickle, and tasks carry ids, never objects.
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# Acknowledge after the task ran, so a worker that dies mid-task leaves the message to redeliver.
CELERY_TASK_ACKS_LATE = True
# A worker killed by a signal (OOM, kill -9) re-queues its message instead of acking it.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Each worker process holds one message at a time: a slow gateway call never strands others.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes the database connection after every task unless this is set;
# then it closes it only every this many tasks, and whatsapp/worker_db.py checks it around each
# task as Django does around a request, so CONN_MAX_AGE holds in workers too.
CELERY_DB_REUSE_MAX = 1000
# Longest countdown a task may be scheduled with (retry backoff caps at this).
CELERY_MAX_COUNTDOWN = 600
# Redis redelivers an unacked message after this; it must exceed every time limit and countdown,
# or a long task would be run a second time while the first is still going.
CELERY_BROKER_VISIBILITY_TIMEOUT = env_int("CELERY_BROKER_VISIBILITY_TIMEOUT", 3600)
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = (
    {
        "visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT,
        # A web request publishing to a dead Redis must fail in seconds, not hang.
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
    }
    if BROKER_IS_REDIS
    else {}  # the embedded SQLite transport passes these to SQLAlchemy, which rejects them
)
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# Workers wait for the broker at start instead of crashing when it comes up after them.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing retries a little, then gives up: the row is safe and the sweeper re-drives it.
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
# Per-queue time limits (sessions: above the gateway's 90 s; messages: above a 60 s read).
CELERY_TASK_ANNOTATIONS = [QueueTimeLimits()]
CELERY_TASK_QUEUES = CELERY_QUEUES
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = TASK_ROUTES
# Flower and the admin can tell a running task from a queued one.
CELERY_TASK_TRACK_STARTED = True
# Results live on the rows; a task that needs a result backend opts in with ignore_result=False.
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or (
    CELERY_BROKER_URL if BROKER_IS_REDIS else f"db+sqlite:///{VAR_DIR / 'celery-results.sqlite3'}"
)
CELERY_RESULT_EXPIRES = 3600
# Task events feed Flower's live view.
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True
# Logging goes through Django's LOGGING (worker/celery.py), not Celery's own root handler.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# A lost broker connection does NOT cancel the tasks running: with True, every Redis drop killed
# the sends in flight (their rows left `sending` until swept) and, in the fault runs and in
# tests/test_broker_outage_live.py, workers exited on Redis's return (`file descriptor is None`
# in the prefork pool, `restore_unacked` errors). With False a running send finishes and records
# its outcome; its broker message may be delivered again after the reconnect, and that second
# delivery fails its claim (the dispatch token), so nothing is sent twice. Measured both ways:
# docs/architecture.md, "Broker outages".
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# Keep reconnecting for as long as the broker is away; the default (100 tries) ends the worker
# after a long outage, and with it every sweep.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_CONNECTION_RETRY = True
# django-celery-beat's scheduler, kept running while the database is away
# (whatsapp/beat_scheduler.py).
CELERY_BEAT_SCHEDULER = "whatsapp.beat_scheduler:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE

# --- The gateway and the product: the app reads only this dict (whatsapp/conf.py has every key).
# Alert emails (WHATSAPP_ALERT_EMAILS) go out through Django's mail. A short timeout: a slow mail
# server holds only the housekeeping worker sending the alert, and the sweep sends it later.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "leguas-whatsapp@localhost")

WHATSAPP = {
    "GATEWAY_URL": env_str("WPPCONNECT_URL", "http://127.0.0.1:21465"),
    "GATEWAY_SECRET_KEY": env_secret(
        "WPPCONNECT_SECRET_KEY", "THISISMYSECURETOKEN" if DEBUG else ""
    ),
    "SESSION_NAME": env_str("WPPCONNECT_SESSION", "leguas"),
    "CONNECT_TIMEOUT": env_float("WPPCONNECT_CONNECT_TIMEOUT", 5.0),
    "READ_TIMEOUT": env_float("WPPCONNECT_READ_TIMEOUT", 60.0),
    "SESSION_TIMEOUT": env_float("WPPCONNECT_SESSION_TIMEOUT", 90.0),
    "PUBLIC_URL": env_str("WHATSAPP_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
    "DEFAULT_REGION": env_str("WHATSAPP_DEFAULT_REGION", "BR"),
    # Encrypts gateway secrets at rest; a development default exists only under DEBUG.
    "ENCRYPTION_KEY": env_secret(
        "WHATSAPP_ENCRYPTION_KEY", "development-only-encryption-key" if DEBUG else ""
    ),
    "HEALTH_INTERVAL": env_int("WHATSAPP_HEALTH_INTERVAL", 30),
    "HEALTH_RETENTION_DAYS": env_int("WHATSAPP_HEALTH_RETENTION_DAYS", 30),
    # A session still INITIALIZING after this many seconds has failed (contract §4.1).
    "START_TIMEOUT": env_int("WHATSAPP_START_TIMEOUT", 75),
    # Whole start operation, gateway call included; below the sessions queue's 110 s soft limit.
    "START_BUDGET": env_int("WHATSAPP_START_BUDGET", 100),
    "MAX_COUNTDOWN": CELERY_MAX_COUNTDOWN,
    "UNKNOWN_GRACE": env_int("WHATSAPP_UNKNOWN_GRACE", 600),
    "UNDELIVERED_AFTER": env_int("WHATSAPP_UNDELIVERED_AFTER", 6 * 3600),
    "MESSAGE_RETENTION_DAYS": env_int("WHATSAPP_MESSAGE_RETENTION_DAYS", 90),
    "WEBHOOK_RETRY_DELAYS": env_list(
        "WHATSAPP_WEBHOOK_RETRY_DELAYS", ["5", "60", "300", "1800", "7200", "28800", "86400"]
    ),
    "WEBHOOK_DISABLE_AFTER": env_int("WHATSAPP_WEBHOOK_DISABLE_AFTER", 3 * 86400),
    "WEBHOOK_TIMEOUT": env_float("WHATSAPP_WEBHOOK_TIMEOUT", 10.0),
    "WEBHOOK_ALLOW_PRIVATE": env_bool("WHATSAPP_WEBHOOK_ALLOW_PRIVATE", False),
    "ALERT_EMAILS": env_list("WHATSAPP_ALERT_EMAILS"),
    "MEDIA_RETENTION_DAYS": env_int("WHATSAPP_MEDIA_RETENTION_DAYS", 30),
    "MEDIA_FETCH_TIMEOUT": env_float("WHATSAPP_MEDIA_FETCH_TIMEOUT", 30.0),
    "MEDIA_FETCH_ALLOW_PRIVATE": env_bool("WHATSAPP_MEDIA_FETCH_ALLOW_PRIVATE", False),
    "METRICS_TOKEN": env_secret("WHATSAPP_METRICS_TOKEN"),
    "AUDIT_RETENTION_DAYS": env_int("WHATSAPP_AUDIT_RETENTION_DAYS", 365),
    "API_RATE_LIMIT": env_int("WHATSAPP_API_RATE_LIMIT", 20),
    "API_RATE_BURST": env_int("WHATSAPP_API_RATE_BURST", 40),
    "PROXY_COUNT": env_int("WHATSAPP_PROXY_COUNT", 0),
    "BEAT_STALE_AFTER": env_int("WHATSAPP_BEAT_STALE_AFTER", 90),
}

# Metrics of every web and worker process meet in one folder (prometheus-client's multiprocess
# mode); it must be known before prometheus_client is imported, hence the environment. Compose
# shares a volume between the web and the workers.
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR", str(VAR_DIR / "metrics"))
Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", PROMETHEUS_MULTIPROC_DIR)

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s"},
    },
    # One filter for every line: secrets (webhook paths, tokens, keys) and full phone numbers.
    "filters": {"redact": {"()": "whatsapp.logfilter.RedactSecrets"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"level": "INFO"},
        # Django's default config gives runserver's access lines a handler of its own, which
        # would bypass the filter: they go through the console handler like every other line.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "celery": {"level": LOG_LEVEL},
        "whatsapp": {"level": LOG_LEVEL},
        # urllib3 logs full URLs at DEBUG; gateway URLs can carry a secret in the path (§2.4).
        "urllib3": {"level": "WARNING"},
    },
}
