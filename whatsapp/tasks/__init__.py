"""Celery tasks: thin wrappers taking ids; the logic lives in whatsapp.services."""

from whatsapp.tasks import events, health, sessions

__all__ = ["events", "health", "sessions"]
