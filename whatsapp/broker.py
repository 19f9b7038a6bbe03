"""What the broker holds: the ids of tasks waiting in a queue or reserved by a worker.

Used by the sweeper to tell a dispatched message whose send task is still coming from one whose
task was lost (a wiped or restarted broker, a publish that failed), so the second is released at
once instead of at its lease. Only Redis (kombu's layout: a list per queue, priority sub-lists,
and the `unacked` hash of reserved and countdown tasks) can be read; for any other broker, or a
queue too long to read cheaply, the answer is None ("cannot tell") and leases decide.

A wrong "not there" is safe: the released message gets a new dispatch token, so the old task,
should it run after all, fails its claim.
"""

from __future__ import annotations

import json
import logging
from typing import Any

logger = logging.getLogger(__name__)

# Reading more than this many waiting tasks costs more than waiting for the leases.
MAX_SCAN = 5000
UNACKED_KEY = "unacked"
# kombu's Redis priority steps and separator: "messages", "messages\x06\x163", ...
PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


def _client() -> Any:
    from celery import current_app

    url = str(current_app.conf.broker_url or "")
    if not url.startswith(("redis://", "rediss://")):
        return None
    import redis

    return redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)


def _task_id(raw: bytes | str) -> str | None:
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if isinstance(data, list) and data:  # unacked entries: [message, exchange, routing_key]
        data = data[0]
    headers = data.get("headers") if isinstance(data, dict) else None
    ident = headers.get("id") if isinstance(headers, dict) else None
    return ident if isinstance(ident, str) else None


def task_ids(queue: str) -> set[str] | None:
    """Ids of the tasks waiting in `queue` or reserved by any worker; None: cannot tell."""
    try:
        client = _client()
        if client is None:
            return None
        lists = [f"{queue}{suffix}" for suffix in PRIORITY_SUFFIXES]
        lengths = [client.llen(name) for name in lists]
        if sum(lengths) + client.hlen(UNACKED_KEY) > MAX_SCAN:
            return None
        raw = [item for name in lists for item in client.lrange(name, 0, -1)]
        raw.extend(client.hvals(UNACKED_KEY))
    except Exception as exc:
        logger.warning("cannot read the broker's queue %s (%s)", queue, type(exc).__name__)
        return None
    return {ident for ident in map(_task_id, raw) if ident}
