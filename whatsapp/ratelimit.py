"""A rate limit per API key, shared by every web process through the cache (Redis).

GCRA (a token bucket kept as one timestamp): each key may make `rate` requests per second with
`burst` more at once. With a Redis cache one Lua script reads and moves the timestamp atomically
on Redis's own clock, so every web process (and host) counts against one budget. Other caches
(the local run's file cache) get the same arithmetic without the atomicity. If the cache cannot
be reached the request is let through: the API must not stop because Redis blinked. Nor may it
wait on a Redis that hangs: the check has its own connection with a short timeout, and after a
failure it is skipped for a few seconds (as the doorbell does), so a frozen Redis costs a
request a quarter of a second at most.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

from whatsapp.redis_link import ThreadLink

logger = logging.getLogger(__name__)

PREFIX = "whatsapp:rate:"
SOCKET_TIMEOUT = 0.25
COOLDOWN_SECONDS = 5.0
_state: dict[str, Any] = {"client": None, "server": None, "script": None, "skip_until": 0.0}
# The script runs on every API request: on a connection of the thread's own (redis_link.py).
_link = ThreadLink()
# KEYS[1] the key, KEYS[2] (optional) a key to read in the same round trip; ARGV: interval (s per
# request), tolerance (s of burst). Returns {allowed (1/0), seconds to wait as text, KEYS[2]'s
# value or false}. Redis's TIME keeps every web host on one clock.
GCRA = """
local extra = false
if KEYS[2] then extra = redis.call('GET', KEYS[2]) end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - tolerance - interval
if now < allow_at then
  return {0, tostring(allow_at - now), extra}
end
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil((new_tat - now) * 1000) + 1000)
return {1, '0', extra}
"""


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: float = 0.0
    # The value of the key `hit` was asked to read too; None when absent or not read.
    read: str | None = None


def redis_client() -> Any | None:
    """A client of the cache's Redis of the limiter's own, with short timeouts (the cache's may
    wait seconds); None when the cache is not Redis."""
    servers = getattr(cache, "_servers", None)
    if not servers or not str(servers[0]).startswith(("redis://", "rediss://", "unix://")):
        return None
    if _state["server"] != servers[0]:
        import redis

        _state["client"] = redis.Redis.from_url(
            servers[0], socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=SOCKET_TIMEOUT
        )
        # EVALSHA: the script's hash crosses the wire, not its text.
        _state["script"] = _state["client"].register_script(GCRA)
        _state["server"] = servers[0]
    return _state["client"]


def reset() -> None:
    """Forget the connection and any cooldown (tests; a process that changed its cache)."""
    _state.update(client=None, server=None, script=None, skip_until=0.0)
    _link.drop()


def _portable(key: str, interval: float, tolerance: float) -> Verdict:
    now = time.time()
    tat = max(float(cache.get(key) or now), now)
    new_tat = tat + interval
    allow_at = new_tat - tolerance - interval
    if now < allow_at:
        return Verdict(False, allow_at - now)
    cache.set(key, new_tat, int(new_tat - now) + 2)
    return Verdict(True)


def hit(name: str, rate: float, burst: int, *, read: str | None = None) -> Verdict:
    """Count one request of `name`; `rate` per second, `burst` more at once. 0 rate: no limit.

    `read` names a Redis key (already made with the cache's prefix) whose value comes back in
    `Verdict.read`, in the same round trip; None when the cache is not Redis or failed.
    """
    if cooling_down():
        return Verdict(True)
    try:
        client = redis_client()
        if rate <= 0:
            return Verdict(True, read=_read(client, read))
        interval = 1.0 / rate
        tolerance = interval * max(burst, 0)
        key = cache.make_and_validate_key(f"{PREFIX}{name}")
        if client is None:
            return _portable(key, interval, tolerance)
        keys = [key] if read is None else [key, read]
        script_args = [repr(interval), repr(tolerance)]
        allowed, wait, value = _link.script(client, _state["script"], keys, script_args)
        return Verdict(bool(int(allowed)), float(wait), _text(value))
    except Exception as exc:
        failed(exc)
        return Verdict(True)


def cooling_down() -> bool:
    return time.monotonic() < _state["skip_until"]


def failed(exc: Exception) -> None:
    """The cache's Redis failed: checks are skipped for a few seconds rather than wait on it."""
    _state["skip_until"] = time.monotonic() + COOLDOWN_SECONDS
    _link.drop()
    logger.warning(
        "rate limit not checked for %.0f s, the cache failed (%s)",
        COOLDOWN_SECONDS,
        type(exc).__name__,
    )


def _read(client: Any | None, key: str | None) -> str | None:
    if client is None or key is None:
        return None
    return _text(client.get(key))


def _text(value: Any) -> str | None:
    return value.decode() if isinstance(value, bytes) else None
