"""Outgoing webhook tasks: thin wrappers taking ids (services/webhook_delivery.py)."""

from __future__ import annotations

from celery import shared_task

from whatsapp.services import webhook_delivery


@shared_task(name="whatsapp.webhooks.deliver")
def deliver(delivery_id: str) -> str:
    """Post one event to one endpoint, if it is due."""
    return webhook_delivery.run(delivery_id)
