"""A guard around one kombu defect that made workers exit when Redis dropped and came back.

After a broker drop, Celery's consumer calls `connection.collect()`, which detaches the
transport from its channels, and then closes them. Anything a detached Redis channel still does
(restore its unacknowledged messages on close, acknowledge a task that finished meanwhile) needs
the connection's details and raises `AttributeError: 'NoneType' object has no attribute
'hostname'` (or `'client'`) instead of a connection error (the kombu#582 / #970 family). Celery
handles connection errors there (it logs them and reconnects) but treats an AttributeError as
unrecoverable: the worker exits, and with it every sweep. It happened in about one run in four of
tests/test_broker_outage_live.py, whatever `worker_cancel_long_running_tasks_on_connection_loss`.

The guard makes a detached channel raise the connection error it means. The unacknowledged
messages then stay in Redis's unacked hash, which kombu restores after the visibility timeout,
and long before that the rows' sweepers re-drive them (the row is the truth; a late second
delivery fails its claim).
"""

from __future__ import annotations

import functools
from typing import Any


def install() -> None:
    from kombu.transport import redis as transport
    from redis.exceptions import ConnectionError as RedisConnectionError

    original = transport.Channel._connparams
    if getattr(original, "whatsapp_guarded", False):
        return

    @functools.wraps(original)
    def _connparams(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self.connection is None or self.connection.client is None:
            raise RedisConnectionError("the broker connection was closed after a connection loss")
        return original(self, *args, **kwargs)

    _connparams.whatsapp_guarded = True  # type: ignore[attr-defined]
    transport.Channel._connparams = _connparams  # type: ignore[method-assign]
