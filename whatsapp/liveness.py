"""Which worker processes are alive: each one that claims work keeps a heartbeat in the cache.

A send records the process making the call (`worker_id()`) on its attempt. When that process
dies (kill -9, OOM, a lost host), its heartbeat expires within `TTL_SECONDS` and the sweeper
releases its rows at once instead of waiting for their lease.

Why a heartbeat and not Celery's `inspect()`: inspect is a broadcast that needs every worker to
answer within a timeout over the broker, so a busy or reconnecting worker looks dead; a key per
process costs one cache write every `BEAT_SECONDS`, is read with one `get_many`, and a dead
process stops writing by itself. A missing heartbeat is never the only safeguard: a released
send is reconciled with the gateway before anything is sent again, so a false alarm (a flushed
cache) costs a look-up, never a duplicate.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterable

from django.core.cache import cache

logger = logging.getLogger(__name__)

PREFIX = "whatsapp:alive:"
BEAT_SECONDS = 2.0
TTL_SECONDS = 8

_started_in: int | None = None
_lock = threading.Lock()


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _key(ident: str) -> str:
    return f"{PREFIX}{ident}"


def beat() -> bool:
    try:
        cache.set(_key(worker_id()), 1, TTL_SECONDS)
    except Exception as exc:  # the cache is down: the sweeper cannot read it either
        logger.debug("heartbeat not written (%s)", type(exc).__name__)
        return False
    return True


def _loop(stop: threading.Event) -> None:
    while not stop.wait(BEAT_SECONDS):
        beat()


def start() -> str:
    """Make sure this process beats (once per process, again after a fork); returns its id."""
    global _started_in
    pid = os.getpid()
    if _started_in != pid:
        with _lock:
            if _started_in != pid:
                beat()  # at once, so the row written next never names a silent process
                thread = threading.Thread(
                    target=_loop, args=(threading.Event(),), name="whatsapp-heartbeat", daemon=True
                )
                thread.start()
                _started_in = pid
    return worker_id()


def alive(idents: Iterable[str]) -> set[str] | None:
    """The ids among `idents` with a fresh heartbeat; None when the cache cannot be read."""
    wanted = {ident for ident in idents if ident}
    if not wanted:
        return set()
    try:
        found = cache.get_many([_key(ident) for ident in wanted])
    except Exception as exc:
        logger.warning("cannot read worker heartbeats (%s)", type(exc).__name__)
        return None
    return {ident for ident in wanted if _key(ident) in found}


# -- beat ----------------------------------------------------------------------------------
# Beat publishes every periodic task; /readyz fails when it stops ticking. Its process writes
# the wall-clock time of the scheduler's last tick to the cache every BEAT_WRITE_SECONDS, from
# a thread started by Celery's beat_init signal (any scheduler, `celery beat` or `-B`).
BEAT_KEY = "whatsapp:beat:heartbeat"
BEAT_WRITE_SECONDS = 10.0
BEAT_KEEP_SECONDS = 86_400


def beat_tick_time(service: object) -> float:
    """When the beat service last ticked, as a Unix time (now when it does not say)."""
    import time

    last = getattr(service, "_last_tick", None)  # Celery's Service records it (monotonic)
    if isinstance(last, float):
        return time.time() - (time.monotonic() - last)
    return time.time()


def write_beat_heartbeat(at: float) -> bool:
    try:
        cache.set(BEAT_KEY, at, BEAT_KEEP_SECONDS)
    except Exception as exc:  # Redis is away: /readyz says so by itself
        logger.debug("beat heartbeat not written (%s)", type(exc).__name__)
        return False
    return True


def beat_heartbeat() -> float | None:
    """The time of beat's last tick, None when none was recorded; raises if the cache fails."""
    value = cache.get(BEAT_KEY)
    return float(value) if isinstance(value, int | float) else None


def _beat_loop(service: object, stop: threading.Event) -> None:
    write_beat_heartbeat(beat_tick_time(service))
    while not stop.wait(BEAT_WRITE_SECONDS):
        write_beat_heartbeat(beat_tick_time(service))


def on_beat_init(sender: object = None, **_kwargs: object) -> None:
    threading.Thread(
        target=_beat_loop, args=(sender, threading.Event()), name="whatsapp-beat", daemon=True
    ).start()


def connect_beat() -> None:
    from celery.signals import beat_init

    beat_init.connect(on_beat_init, weak=False, dispatch_uid="whatsapp-beat-heartbeat")
