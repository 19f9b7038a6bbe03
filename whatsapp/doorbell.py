"""The doorbell: the one way code asks a worker to look at a row.

Redis is only a doorbell (design principle 1): the row is written first, and the task that acts
on it is published after the transaction commits. A publish that fails is logged as a warning,
counted, and never raised: the caller's row is safe, and a sweeper on beat rings again for every
kind of row a lost doorbell can leave behind (`whatsapp.services.sweeps`).

Tasks are rung by name, so services never import task modules (and tasks import services).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)

# Task names, so callers ring without importing the task modules.
DISPATCH = "whatsapp.messages.dispatch"
SEND = "whatsapp.messages.send"
RECONCILE = "whatsapp.messages.reconcile"
RUN_OPERATION = "whatsapp.sessions.run_operation"
APPLY_EVENT = "whatsapp.events.apply"
REFRESH_STATE = "whatsapp.health.refresh_state"
RECORD_INSTANCE = "whatsapp.health.record_instance"

# After a failed publish, skip publishing for this long: a dead or frozen broker then costs one
# bounded wait per process and period instead of one per request (the sweepers re-drive).
COOLDOWN_SECONDS = 2.0
# One quick retry: a broker restart drops pooled connections once.
RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1}

# Publish outcomes by task name, for the metrics endpoint: {"published"|"failed"|"skipped": n}.
counts: Counter[tuple[str, str]] = Counter()
_lock = threading.Lock()
_broken_until = 0.0


def ring(task_name: str, *args: Any, countdown: float | None = None) -> None:
    """Publish `task_name(*args)` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: publish(task_name, args, countdown=countdown), robust=True)


def publish(task_name: str, args: tuple[Any, ...], *, countdown: float | None = None) -> bool:
    """Publish now; False when the broker did not take it (logged and counted, never raised)."""
    global _broken_until
    if time.monotonic() < _broken_until:
        _count(task_name, "skipped")
        return False
    try:
        _send(task_name, args, countdown)
    except Exception as exc:
        with _lock:
            _broken_until = time.monotonic() + COOLDOWN_SECONDS
        _count(task_name, "failed")
        logger.warning(
            "Could not publish %s (%s); the row is safe and a sweeper will ring again.",
            task_name,
            type(exc).__name__,
        )
        return False
    _count(task_name, "published")
    return True


def _count(task_name: str, outcome: str) -> None:
    with _lock:
        counts[(task_name, outcome)] += 1


def _send(task_name: str, args: tuple[Any, ...], countdown: float | None) -> None:
    from celery import current_app

    options: dict[str, Any] = {"retry": True, "retry_policy": RETRY_POLICY}
    if countdown is not None:
        options["countdown"] = max(0.0, countdown)
    current_app.send_task(task_name, args=list(args), **options)


def reset() -> None:
    """Forget a broken broker (tests, and a worker that just reconnected)."""
    global _broken_until
    with _lock:
        _broken_until = 0.0
