"""Where the counted things happen: the gateway client, the two state writers, Celery tasks."""

from __future__ import annotations

import time
from typing import Any

from django.db import transaction

from whatsapp import metrics
from whatsapp.gateway import client as gateway_client
from whatsapp.queues import queue_for

_connected = False
_task_started: dict[str, float] = {}


def _slug(instance_id: int) -> str:
    from whatsapp.models import Instance

    return Instance.objects.filter(pk=instance_id).values_list("slug", flat=True).first() or "?"


def gateway_call(route: str, outcome: object, seconds: float) -> None:
    metrics.GATEWAY_REQUESTS.labels(route=route, outcome=str(outcome)).observe(seconds)


def send_attempt(instance_slug: str, outcome: str) -> None:
    transaction.on_commit(
        lambda: metrics.SEND_ATTEMPTS.labels(instance=instance_slug, outcome=outcome).inc()
    )


def acks(instance_slug: str, status: str, delays: list[float]) -> None:
    def count() -> None:
        metrics.ACKS.labels(instance=instance_slug, status=status).inc(len(delays))
        for delay in delays:
            metrics.ACK_DELAY.labels(status=status).observe(max(delay, 0.0))

    transaction.on_commit(count)


def session_changed(change: Any) -> None:
    slug = _slug(change.instance_id)

    def count() -> None:
        metrics.SESSION_CHANGES.labels(instance=slug, status=change.new_status).inc()
        if change.connected and not change.was_connected:
            metrics.RECONNECTIONS.labels(instance=slug).inc()

    transaction.on_commit(count)


def task_started(task_id: str | None = None, **_kwargs: Any) -> None:
    if task_id:
        _task_started[task_id] = time.monotonic()


def task_finished(
    task_id: str | None = None, task: Any = None, state: str | None = None, **_kwargs: Any
) -> None:
    started = _task_started.pop(task_id or "", None)
    if started is None or task is None:
        return
    metrics.TASKS.labels(
        queue=queue_for(task.name), task=task.name, state=(state or "").lower()
    ).observe(time.monotonic() - started)


def connect() -> None:
    global _connected
    if _connected:
        return
    _connected = True
    from celery.signals import task_postrun, task_prerun

    from whatsapp.services import session_state

    gateway_client.REQUEST_OBSERVERS.append(gateway_call)
    session_state.on_change(session_changed)
    task_prerun.connect(task_started, weak=False, dispatch_uid="whatsapp-metrics-start")
    task_postrun.connect(task_finished, weak=False, dispatch_uid="whatsapp-metrics-end")
