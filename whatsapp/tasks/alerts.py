"""Alert emails: a thin wrapper taking an id (services/alerts.py)."""

from __future__ import annotations

from celery import shared_task

from whatsapp.services import alerts


@shared_task(name="whatsapp.alerts.send")
def send_alert(alert_id: int) -> str:
    """Email one alert to WHATSAPP_ALERT_EMAILS."""
    return alerts.run(alert_id)
