"""Celery tasks: thin wrappers taking ids; the logic lives in whatsapp.services."""

from whatsapp.tasks import events, health, housekeeping, media, messages, sessions, webhooks

__all__ = ["events", "health", "housekeeping", "media", "messages", "sessions", "webhooks"]
