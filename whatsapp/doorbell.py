"""The doorbell: the one way code asks a worker to look at a row.

Redis is only a doorbell (design principle 1): the row is written first, and the task that acts
on it is published after the transaction commits. A publish that fails is logged as a warning,
counted, and never raised: the caller's row is safe, and a sweeper on beat rings again for every
kind of row a lost doorbell can leave behind (`whatsapp.services.sweeps`).

Tasks are rung by name, so services never import task modules (and tasks import services).

Publishing uses a connection of its own per thread with short socket timeouts, so a broker that
refuses or hangs (a SIGSTOP'd Redis accepts connections and never answers) costs a request at
most about `PUBLISH_TIMEOUT` seconds in total; the workers' consuming connections keep the
broker settings of leguas/settings.py.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from typing import Any

from django.db import transaction

from whatsapp.redis_link import ThreadLink

logger = logging.getLogger(__name__)

# Task names, so callers ring without importing the task modules.
DISPATCH = "whatsapp.messages.dispatch"
SEND = "whatsapp.messages.send"
RECONCILE = "whatsapp.messages.reconcile"
RUN_OPERATION = "whatsapp.sessions.run_operation"
APPLY_EVENT = "whatsapp.events.apply"
RETRY_EVENT = "whatsapp.events.retry"
REFRESH_STATE = "whatsapp.health.refresh_state"
RECORD_INSTANCE = "whatsapp.health.record_instance"
DISPATCH_ALL = "whatsapp.housekeeping.dispatch_all"
FETCH_MEDIA = "whatsapp.media.fetch"
DOWNLOAD_INBOUND_MEDIA = "whatsapp.media.download_inbound"
SEND_ALERT = "whatsapp.alerts.send"
DELIVER_WEBHOOK = "whatsapp.webhooks.deliver"

# After a failed publish, skip publishing for this long: a dead or frozen broker then costs one
# bounded wait per process and period instead of one per request (the sweepers re-drive).
COOLDOWN_SECONDS = 2.0
# One quick retry: a broker restart drops pooled connections once.
RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1}
# Per socket operation (connect, each command); two tries of a publish stay within ~1 s.
SOCKET_TIMEOUT = 0.25
PUBLISH_TIMEOUT = 1.0

# A ring of `ring_pending` holds back the same ring for at most this long while its task has not
# started: a ring lost with its task delays the next ones no longer (beat's dispatch_all re-drives
# every 5 s meanwhile).
PENDING_SECONDS = 10

# Publish outcomes by task name, for the metrics endpoint:
# {"published"|"failed"|"skipped"|"coalesced": n}.
counts: Counter[tuple[str, str]] = Counter()
_lock = threading.Lock()
_broken_until = 0.0


_local = threading.local()
# `ring_pending`'s SET NX runs after every enqueue: on a connection of the thread's own, made
# with the publishing connection's settings (redis_link.py).
_link = ThreadLink()


class _Ring:
    """A publish waiting for the commit, known by what it would publish."""

    key: tuple[Any, ...]  # what it publishes; equal keys publish once per transaction

    def __init__(self, task_name: str, args: tuple[Any, ...], countdown: float | None) -> None:
        self.key = (task_name, args, countdown)

    def __call__(self) -> None:
        task_name, args, countdown = self.key
        publish(task_name, args, countdown=countdown)


class _PendingRing(_Ring):
    """A `ring_pending` waiting for the commit: published only if its mark is not set."""

    def __init__(self, task_name: str, args: tuple[Any, ...]) -> None:
        self.key = (task_name, args, "pending")

    def __call__(self) -> None:
        task_name, args, _ = self.key
        _publish_pending(task_name, args)


def _already_pending(ring: _Ring) -> bool:
    """An equal ring waits for this commit.

    It covers this one: Django drops a pending callback only when a savepoint it was registered
    under rolls back; of those, the released ones can no longer roll back and the others are
    still active (savepoints nest), so any rollback that would drop it would drop this ring too.
    """
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        return False
    return any(
        getattr(func, "key", None) == ring.key for _sids, func, _robust in connection.run_on_commit
    )


def ring(task_name: str, *args: Any, countdown: float | None = None) -> None:
    """Publish `task_name(*args)` once the current transaction commits (at once outside one).

    Equal rings in one transaction publish once: a batch of 3,000 messages for one instance
    rings its dispatcher once, not 3,000 times ahead of other instances' rings on the queue.
    """
    pending = _Ring(task_name, args, countdown)
    if _already_pending(pending):
        return
    transaction.on_commit(pending, robust=True)


def ring_pending(task_name: str, *args: Any) -> None:
    """Like `ring`, for a task that acts on everything due when it starts (the dispatcher): while
    one such ring waits in the broker, its task not started yet, another would find nothing that
    task will not, so it is not published. The task calls `started` first, before it reads a row:
    a ring whose row committed after that moment publishes again.

    One `SET NX` on the broker's Redis decides (no coalescing on another broker); if it fails,
    the broker counts as broken, as for a failed publish.
    """
    pending = _PendingRing(task_name, args)
    if _already_pending(pending):
        return
    transaction.on_commit(pending, robust=True)


def started(task_name: str, *args: Any) -> None:
    """Called first by a task rung with `ring_pending`: the next such ring is published again.

    Never raises: a mark that could not be cleared expires within PENDING_SECONDS.
    """
    try:
        client = _pending_client()
        if client is not None:
            client.delete(_pending_key(task_name, args))
    except Exception as exc:
        _drop_connection()
        logger.warning(
            "Could not clear the pending mark of %s (%s).", task_name, type(exc).__name__
        )


def _pending_key(task_name: str, args: tuple[Any, ...]) -> str:
    return "whatsapp:pending:" + ":".join([task_name, *(str(arg) for arg in args)])


def _pending_client() -> Any:
    """The Redis client of this thread's publishing connection (its short timeouts), or None."""
    from django.conf import settings

    if not getattr(settings, "BROKER_IS_REDIS", False):
        return None
    # Kept with the connection: `default_channel` checks the connection and its failover options
    # on every call, a cost on every enqueue's ring.
    client = getattr(_local, "pending_client", None)
    if client is None:
        client = _local.pending_client = _connection().default_channel.client
    return client


def _publish_pending(task_name: str, args: tuple[Any, ...]) -> None:
    global _broken_until
    if time.monotonic() < _broken_until:
        _count(task_name, "skipped")
        return
    try:
        client = _pending_client()
        fresh = client is None or _link.command(
            client, "SET", _pending_key(task_name, args), 1, "NX", "EX", PENDING_SECONDS
        )
    except Exception as exc:
        _drop_connection()
        with _lock:
            _broken_until = time.monotonic() + COOLDOWN_SECONDS
        _count(task_name, "failed")
        logger.warning(
            "Could not publish %s (%s); the row is safe and a sweeper will ring again.",
            task_name,
            type(exc).__name__,
        )
        return
    if not fresh:
        _count(task_name, "coalesced")
        return
    publish(task_name, args)


def publish(
    task_name: str,
    args: tuple[Any, ...],
    *,
    countdown: float | None = None,
    task_id: str | None = None,
    time_limits: tuple[int, int] | None = None,
) -> bool:
    """Publish now; False when the broker did not take it (logged and counted, never raised).

    `task_id` names the task in the broker, so the sweeper can tell whether it is still there.
    `time_limits` (soft, hard seconds) replace its queue's for this one run (a large file's send).
    """
    global _broken_until
    if time.monotonic() < _broken_until:
        _count(task_name, "skipped")
        return False
    try:
        if time_limits is None:
            _send(task_name, args, countdown, task_id)
        else:
            _send(task_name, args, countdown, task_id, time_limits=time_limits)
    except Exception as exc:
        _drop_connection()
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


def _connection() -> Any:
    """This thread's publishing connection, with timeouts short enough to give up quickly."""
    from celery import current_app

    connection = getattr(_local, "connection", None)
    if connection is None:
        url = str(current_app.conf.broker_url or "")
        options: dict[str, Any] = {}
        if url.startswith(("redis://", "rediss://")):
            options = {
                "socket_timeout": SOCKET_TIMEOUT,
                "socket_connect_timeout": SOCKET_TIMEOUT,
                # No health-check PING before a command: one more round trip to time out on.
                "health_check_interval": 0,
                # Opening the connection (`default_channel`, used by `ring_pending`) retries as
                # a publish does, not after kombu's default 2 s wait.
                **RETRY_POLICY,
            }
        connection = current_app.connection_for_write(
            transport_options=options, connect_timeout=SOCKET_TIMEOUT
        )
        _local.connection = connection
    return connection


def _drop_connection() -> None:
    connection = getattr(_local, "connection", None)
    _local.connection = _local.pending_client = None
    _link.drop()
    if connection is not None:
        try:
            connection.release()
        except Exception:  # already broken; nothing to give back
            logger.debug("publishing connection could not be released cleanly")


def _send(
    task_name: str,
    args: tuple[Any, ...],
    countdown: float | None,
    task_id: str | None,
    time_limits: tuple[int, int] | None = None,
) -> None:
    from celery import current_app

    # ignore_result: otherwise Celery subscribes to the result backend for every task sent by
    # name outside a worker (one pub/sub subscription per publish, on the backend's own socket
    # and timeouts): a frozen Redis would hang there, past SOCKET_TIMEOUT.
    options: dict[str, Any] = {"retry": True, "retry_policy": RETRY_POLICY, "ignore_result": True}
    if countdown is not None:
        options["countdown"] = max(0.0, countdown)
    if task_id is not None:
        options["task_id"] = task_id
    if time_limits is not None:
        options["soft_time_limit"], options["time_limit"] = time_limits
    current_app.send_task(task_name, args=list(args), connection=_connection(), **options)


def reset() -> None:
    """Forget a broken broker and this thread's connection (tests; a changed broker URL)."""
    global _broken_until
    with _lock:
        _broken_until = 0.0
    _drop_connection()
