"""Diagnostic tasks: prove a worker is alive and sees the same cache as the web process."""

from __future__ import annotations

import socket

from celery import shared_task
from django.core.cache import cache

PING_TTL = 300


def ping_key(nonce: str) -> str:
    return f"worker-ping:{nonce}"


@shared_task(name="worker.ping")
def ping(nonce: str) -> None:
    cache.set(ping_key(nonce), socket.gethostname(), PING_TTL)
