"""Celery tasks: thin wrappers taking ids; the logic lives in whatsapp.services."""

from whatsapp.tasks import (
    alerts,
    events,
    health,
    housekeeping,
    media,
    messages,
    sessions,
    webhooks,
)

__all__ = [
    "alerts",
    "events",
    "health",
    "housekeeping",
    "media",
    "messages",
    "sessions",
    "webhooks",
]
