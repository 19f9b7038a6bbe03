"""Configuration mistakes surface as system checks with stable ids, before anything runs."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from whatsapp.conf import conf

# The secret the WPPConnect server ships with (contract §3): anyone who reads the docs knows it.
PUBLIC_DEFAULT_SECRET = "THISISMYSECURETOKEN"


@register()
def check_gateway_secret(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if settings.DEBUG:
        return []
    secret = conf.GATEWAY_SECRET_KEY
    if not secret:
        return [
            Error(
                "WHATSAPP['GATEWAY_SECRET_KEY'] is not set.",
                hint="Set it to the secret the WPPConnect server was started with (--secretKey).",
                id="whatsapp.E001",
            )
        ]
    if secret == PUBLIC_DEFAULT_SECRET:
        return [
            Error(
                "WHATSAPP['GATEWAY_SECRET_KEY'] is the WPPConnect server's public default.",
                hint="Choose a long random secret; give the same one to the server and this app.",
                id="whatsapp.E001",
            )
        ]
    return []


@register()
def check_encryption_key(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if settings.DEBUG or conf.ENCRYPTION_KEY:
        return []
    return [
        Error(
            "WHATSAPP['ENCRYPTION_KEY'] is not set.",
            hint="Gateway secrets are encrypted at rest with it; set a long random value, keep it: "
            "changing it makes stored secrets unreadable.",
            id="whatsapp.E002",
        )
    ]


@register()
def check_public_url(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    url = conf.PUBLIC_URL
    if not url.startswith(("http://", "https://")):
        return [
            Error(
                f"WHATSAPP['PUBLIC_URL'] must be an http(s) URL, not {url!r}.",
                hint="It is the address the gateway uses to reach this app's webhooks.",
                id="whatsapp.E003",
            )
        ]
    return []


@register()
def check_gateway_url(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from urllib.parse import urlsplit

    if "@" in urlsplit(str(conf.GATEWAY_URL)).netloc:
        return [
            Error(
                "WHATSAPP['GATEWAY_URL'] holds a user name or password.",
                hint="The gateway is reached with a bearer token made from GATEWAY_SECRET_KEY; "
                "user-info in the URL would replace it with Basic auth. Remove it.",
                id="whatsapp.E005",
            )
        ]
    return []


@register()
def check_default_region(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    import phonenumbers

    region = conf.DEFAULT_REGION
    if region not in phonenumbers.SUPPORTED_REGIONS:
        return [
            Error(
                f"WHATSAPP['DEFAULT_REGION'] {region!r} is not a known region code.",
                hint="Use a two-letter ISO region such as BR or PT.",
                id="whatsapp.E004",
            )
        ]
    return []


@register()
def check_broker(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    broker = str(getattr(settings, "CELERY_BROKER_URL", "") or "")
    if settings.DEBUG or broker.startswith(("redis://", "rediss://")):
        return []
    return [
        Warning(
            "CELERY_BROKER_URL is not Redis in production.",
            hint="The embedded SQLite broker is for a first local run only; use Redis with AOF on.",
            id="whatsapp.W001",
        )
    ]


@register()
def check_unknown_keys(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from whatsapp.conf import unknown_keys

    return [
        Warning(
            f"WHATSAPP has a key the app does not read: {key!r}.",
            hint="Check its spelling against docs/embedding.md.",
            id="whatsapp.W002",
        )
        for key in unknown_keys()
    ]


@register()
def check_media_storage(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    alias = conf.MEDIA_STORAGE
    if alias in getattr(settings, "STORAGES", {}):
        return []
    return [
        Warning(
            f"STORAGES has no {alias!r} entry (WHATSAPP['MEDIA_STORAGE']).",
            hint="Images, documents and other files cannot be sent or received until it is set; "
            "docs/embedding.md shows one on the file system.",
            id="whatsapp.W003",
        )
    ]


@register()
def check_media_fetch_timeout(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from whatsapp.queues import MESSAGES, TIME_LIMITS

    soft = TIME_LIMITS[MESSAGES][0]
    timeout = conf.MEDIA_FETCH_TIMEOUT
    if isinstance(timeout, int | float) and 0 < timeout <= soft - 10:
        return []
    return [
        Warning(
            f"WHATSAPP['MEDIA_FETCH_TIMEOUT'] is {timeout!r}; media URLs are fetched on the "
            f"messages queue, whose tasks stop after {soft} s.",
            hint=f"Use a number of seconds from 1 to {soft - 10}.",
            id="whatsapp.W004",
        )
    ]


def _retry_delays_problem(value: Any) -> str | None:
    if not isinstance(value, list | tuple) or not value:
        return "must be a non-empty list of seconds"
    for item in value:
        try:
            seconds = float(item)
        except (TypeError, ValueError):
            return f"has {item!r}, which is not a number of seconds"
        if not 0 < seconds <= 7 * 86400:
            return f"has {item!r}; each delay must be above 0 and at most a week"
    return None


@register()
def check_webhook_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from whatsapp.queues import TIME_LIMITS, WEBHOOKS

    problems: list[CheckMessage] = []
    delays_problem = _retry_delays_problem(conf.WEBHOOK_RETRY_DELAYS)
    if delays_problem:
        problems.append(
            Error(
                f"WHATSAPP['WEBHOOK_RETRY_DELAYS'] {delays_problem}.",
                hint="For example [5, 60, 300, 1800, 7200, 28800, 86400] "
                "(WHATSAPP_WEBHOOK_RETRY_DELAYS=5,60,300).",
                id="whatsapp.E006",
            )
        )
    soft = TIME_LIMITS[WEBHOOKS][0]
    timeout = conf.WEBHOOK_TIMEOUT
    if not (isinstance(timeout, int | float) and 0 < timeout <= soft - 5):
        problems.append(
            Error(
                f"WHATSAPP['WEBHOOK_TIMEOUT'] is {timeout!r}; deliveries run on the webhooks "
                f"queue, whose tasks stop after {soft} s.",
                hint=f"Use a number of seconds from 1 to {soft - 5}.",
                id="whatsapp.E006",
            )
        )
    disable_after = conf.WEBHOOK_DISABLE_AFTER
    if not (isinstance(disable_after, int | float) and disable_after > 0):
        problems.append(
            Error(
                f"WHATSAPP['WEBHOOK_DISABLE_AFTER'] is {disable_after!r}.",
                hint="Use a positive number of seconds (3 days: 259200).",
                id="whatsapp.E006",
            )
        )
    return problems


@register()
def check_worker_connections(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """CONN_MAX_AGE asks for kept connections, but Celery closes them after every task unless
    CELERY_DB_REUSE_MAX is set (whatsapp/worker_db.py)."""
    max_age = settings.DATABASES.get("default", {}).get("CONN_MAX_AGE", 0)
    if max_age == 0 or getattr(settings, "CELERY_DB_REUSE_MAX", None):
        return []
    return [
        Warning(
            "Celery workers open a new database connection for every task.",
            hint="DATABASES['default']['CONN_MAX_AGE'] keeps connections, but Celery's Django "
            "fixup closes them after each task unless CELERY_DB_REUSE_MAX is set: set it "
            "(e.g. 1000; docs/embedding.md). Each send then saves a new PostgreSQL connection.",
            id="whatsapp.W005",
        )
    ]
