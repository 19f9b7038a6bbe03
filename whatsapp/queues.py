"""Queues, routes and per-queue time limits.

Three queues so that a 90-second gateway call on `sessions` can never delay a send on `messages`,
and periodic housekeeping on `default` never waits behind either.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from kombu import Exchange, Queue

SESSIONS = "sessions"
MESSAGES = "messages"
DEFAULT = "default"
QUEUE_NAMES = (SESSIONS, MESSAGES, DEFAULT)

CELERY_QUEUES = tuple(Queue(name, Exchange(name), routing_key=name) for name in QUEUE_NAMES)

# Routed by task name; anything unrouted lands on `default`.
TASK_ROUTES: dict[str, dict[str, str]] = {
    "whatsapp.sessions.*": {"queue": SESSIONS},
    "whatsapp.messages.send": {"queue": MESSAGES},
    "whatsapp.messages.reconcile": {"queue": MESSAGES},
}

# (soft, hard) seconds. Sessions sit above the gateway's 90 s start/close/logout timeout; sends
# above its 60 s read timeout; housekeeping is short.
TIME_LIMITS: dict[str, tuple[int, int]] = {
    SESSIONS: (110, 130),
    MESSAGES: (50, 60),
    DEFAULT: (25, 30),
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
