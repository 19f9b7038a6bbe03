from __future__ import annotations

from celery import shared_task

from whatsapp.services import webhooks


@shared_task(name="whatsapp.events.apply")
def apply_event(event_id: int) -> None:
    webhooks.apply(event_id)


@shared_task(name="whatsapp.events.retry")
def retry_event(event_id: int) -> None:
    webhooks.retry(event_id)
