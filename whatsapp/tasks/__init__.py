"""Celery tasks: thin wrappers taking ids; the logic lives in whatsapp.services."""

from whatsapp.tasks import events, health, messages, sessions

__all__ = ["events", "health", "messages", "sessions"]
