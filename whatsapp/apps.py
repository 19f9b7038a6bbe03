from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_beat_schedule(sender: AppConfig, **kwargs: Any) -> None:
    from whatsapp.beat import ensure_schedule

    ensure_schedule()


class WhatsAppConfig(AppConfig):
    name = "whatsapp"
    verbose_name = _("WhatsApp")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the system checks (whatsapp.E001 and friends) with Django.
        from whatsapp import checks  # noqa: F401

        post_migrate.connect(_ensure_beat_schedule, sender=self)
        # Beat's heartbeat for /readyz, and the metrics' hooks into workers and the send path.
        from whatsapp import liveness, metrics, worker_db

        liveness.connect_beat()
        metrics.connect()
        # Workers keep their database connection between tasks, as web threads do.
        worker_db.connect()
        # Listens to the session state writer: alert emails when a number drops.
        # Outgoing events and signals listen to the writers of state (services/webhook_events).
        # API keys and instances remembered by web processes are dropped when either changes.
        from whatsapp import lookups  # noqa: F401
        from whatsapp.services import (
            alerts,  # noqa: F401
            webhook_events,  # noqa: F401
        )
