"""The app's settings: one `WHATSAPP = {...}` dict in the host's settings, read only here.

Every key has a default, so a host sets only what differs (docs/embedding.md). Values are read at
each access, not cached, so `override_settings(WHATSAPP=...)` and pytest-django's `settings`
fixture work in the host's tests too.

    from whatsapp.conf import conf
    conf.PUBLIC_URL
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEFAULTS: dict[str, Any] = {
    # The gateway (WPPConnect Server) of the default instance; `manage.py whatsapp_bootstrap`
    # creates that instance from these three.
    "GATEWAY_URL": "http://127.0.0.1:21465",
    "GATEWAY_SECRET_KEY": "",
    "SESSION_NAME": "default",
    # The host's base URL as the gateway reaches it; webhook paths are reversed under it.
    "PUBLIC_URL": "http://127.0.0.1:8000",
    # Encrypts gateway and webhook signing secrets at rest. Changing it makes them unreadable
    # (`manage.py whatsapp_rotate_key` re-encrypts with a new one).
    "ENCRYPTION_KEY": "",
    # Region for phone numbers written without a country code.
    "DEFAULT_REGION": "BR",
    # Gateway timeouts (seconds): connect, ordinary read, and session start/close/logout.
    "CONNECT_TIMEOUT": 5.0,
    "READ_TIMEOUT": 60.0,
    "SESSION_TIMEOUT": 90.0,
    # Session health: the recorder's period (s), and how long samples are kept (days).
    "HEALTH_INTERVAL": 30,
    "HEALTH_RETENTION_DAYS": 30,
    # A session still INITIALIZING after START_TIMEOUT seconds has failed; START_BUDGET is the
    # whole start operation, below the sessions queue's soft time limit.
    "START_TIMEOUT": 75,
    "START_BUDGET": 100,
    # Longest countdown given to a task (s); the broker's visibility timeout must exceed it.
    "MAX_COUNTDOWN": 600,
    # A message whose send stayed ambiguous this long (s) is flagged for a person to resolve.
    "UNKNOWN_GRACE": 600,
    # A sent message still not delivered after this long (s) becomes `undelivered`.
    "UNDELIVERED_AFTER": 6 * 3600,
    # Finished messages, their attempts and gateway events are pruned after this many days.
    "MESSAGE_RETENTION_DAYS": 90,
    # Outgoing webhooks: the delays (s) before each retry of a failed delivery (each with up to
    # 20% jitter; after the last the delivery fails), how long an endpoint may fail every
    # delivery before it is disabled (s), and the timeout of one delivery (s).
    "WEBHOOK_RETRY_DELAYS": [5, 60, 300, 1800, 7200, 28800, 86400],
    "WEBHOOK_DISABLE_AFTER": 3 * 86400,
    "WEBHOOK_TIMEOUT": 10.0,
    # Endpoints are posted to at public addresses only; True also allows private and loopback
    # ones (an application inside your own network).
    "WEBHOOK_ALLOW_PRIVATE": False,
    # People told by email when a number disconnects or an endpoint is disabled.
    "ALERT_EMAILS": [],
    # Media: size caps per kind (bytes), and how long unused files are kept (days).
    "MEDIA_MAX_BYTES": {
        "image": 5 * 1024 * 1024,
        "audio": 16 * 1024 * 1024,
        "voice": 16 * 1024 * 1024,
        "video": 16 * 1024 * 1024,
        "document": 100 * 1024 * 1024,
    },
    "MEDIA_RETENTION_DAYS": 30,
    # A `media_url` download: the whole transfer's time limit (s), below the messages queue's.
    "MEDIA_FETCH_TIMEOUT": 30.0,
    # `media_url`s are fetched from public addresses only; True also allows private and loopback
    # ones (a file server inside your own network, a test server).
    "MEDIA_FETCH_ALLOW_PRIVATE": False,
    # Bytes per second the gateway is assumed to manage at least when sending a file: a media
    # send's read timeout (and its task's time limit) grows by its size divided by this.
    "MEDIA_MIN_THROUGHPUT": 256 * 1024,
    # The storage alias media live in (`STORAGES[...]`), never public.
    "MEDIA_STORAGE": "whatsapp_media",
    # Audit entries are kept this many days.
    "AUDIT_RETENTION_DAYS": 365,
    # Metrics: a bearer token for /metrics; empty leaves the endpoint off.
    "METRICS_TOKEN": "",
    # API keys: requests per second and burst each key may make, unless the key sets its own.
    # Counted in the cache, so every web process shares one budget per key.
    "API_RATE_LIMIT": 20,
    "API_RATE_BURST": 40,
    # Reverse proxies in front of the web process that append to X-Forwarded-For; 0 reads the
    # connection's address. The audit log and login lockouts use the address this gives.
    "PROXY_COUNT": 0,
    # /readyz fails when beat's heartbeat is older than this (s).
    "BEAT_STALE_AFTER": 90,
}


class AppSettings:
    """Attribute access to the merged dict; an unknown name is a programming error."""

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"WHATSAPP has no setting {name!r}")
        configured = getattr(settings, "WHATSAPP", None) or {}
        if not isinstance(configured, dict):
            raise ImproperlyConfigured("settings.WHATSAPP must be a dict.")
        return configured.get(name, DEFAULTS[name])

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in DEFAULTS}


conf = AppSettings()


def unknown_keys() -> list[str]:
    """Keys in settings.WHATSAPP that the app does not read (a typo, usually)."""
    configured = getattr(settings, "WHATSAPP", None) or {}
    return sorted(set(configured) - set(DEFAULTS)) if isinstance(configured, dict) else []
