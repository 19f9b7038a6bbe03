"""Queues, routes and per-queue time limits.

Five queues, each with workers of its own: a 90-second gateway call on `sessions` never delays
a send on `messages`; the per-message traffic on `default` (dispatcher doorbells, webhook events)
never delays the periodic `housekeeping` (sweeps, the health recorder, the beat dispatcher,
pruning), so a 10,000-message backlog cannot starve the sweeps that recover from faults; and a
slow receiver of outgoing webhooks (`webhooks`) never delays a send or a session operation.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from kombu import Exchange, Queue

SESSIONS = "sessions"
MESSAGES = "messages"
DEFAULT = "default"
HOUSEKEEPING = "housekeeping"
WEBHOOKS = "webhooks"
QUEUE_NAMES = (SESSIONS, MESSAGES, DEFAULT, HOUSEKEEPING, WEBHOOKS)

CELERY_QUEUES = tuple(Queue(name, Exchange(name), routing_key=name) for name in QUEUE_NAMES)

# Routed by task name; anything unrouted lands on `default`.
TASK_ROUTES: dict[str, dict[str, str]] = {
    "whatsapp.sessions.*": {"queue": SESSIONS},
    "whatsapp.messages.send": {"queue": MESSAGES},
    "whatsapp.messages.reconcile": {"queue": MESSAGES},
    # Downloads (a `media_url`, an inbound file) take as long as a send: not on `default`.
    "whatsapp.media.*": {"queue": MESSAGES},
    "whatsapp.housekeeping.*": {"queue": HOUSEKEEPING},
    "whatsapp.health.record_all": {"queue": HOUSEKEEPING},
    "whatsapp.health.record_instance": {"queue": HOUSEKEEPING},
    "whatsapp.health.prune": {"queue": HOUSEKEEPING},
    # Rare, and a slow mail server must not delay the per-message traffic on `default`.
    "whatsapp.alerts.*": {"queue": HOUSEKEEPING},
    "whatsapp.webhooks.*": {"queue": WEBHOOKS},
}

# (soft, hard) seconds. Sessions sit above the gateway's 90 s start/close/logout timeout; sends
# above its 60 s read timeout; per-message housekeeping is short; periodic housekeeping works in
# bounded batches (a health probe waits at most 10 s for the gateway).
TIME_LIMITS: dict[str, tuple[int, int]] = {
    SESSIONS: (110, 130),
    MESSAGES: (50, 60),
    DEFAULT: (25, 30),
    HOUSEKEEPING: (50, 60),
    # One delivery waits at most WEBHOOK_TIMEOUT (10 s) for its receiver.
    WEBHOOKS: (25, 30),
}


def queue_for(task_name: str) -> str:
    for pattern, route in TASK_ROUTES.items():
        if fnmatchcase(task_name, pattern):
            return route["queue"]
    return DEFAULT


class QueueTimeLimits:
    """Celery task annotation giving every task the time limits of the queue it is routed to."""

    def annotate(self, task: Any) -> dict[str, int]:
        soft, hard = TIME_LIMITS[queue_for(task.name)]
        return {"soft_time_limit": soft, "time_limit": hard}
