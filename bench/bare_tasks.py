"""Baselines for bench/messages_bench.py: Celery with no queue bookkeeping at all."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from whatsapp.models import Instance
from whatsapp.services.gateway import client_for


@shared_task(name="bench.noop")
def noop(payload: dict[str, Any]) -> None:
    return None


@shared_task(name="bench.bare_send")
def bare_send(instance_id: int, phone: str, text: str) -> str:
    """The same single HTTP POST a queued send makes, without rows, claims or pacing."""
    return client_for(Instance.objects.get(pk=instance_id)).send_text(phone, text).id
