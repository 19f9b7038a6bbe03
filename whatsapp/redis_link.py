"""Redis commands on an API request's path, sent on a connection this thread keeps for them.

An enqueue makes two Redis commands: the rate limit's script (whatsapp/ratelimit.py) and the
doorbell's pending mark (whatsapp/doorbell.py). redis-py's client wraps each command in its
connection pool (a lock, and a poll of the socket before every use: one more system call), a
retry loop and its event hooks. On this path that wrapping cost more CPU than the round trip
itself (docs/benchmarks.md, "What limits the figures"), so these two commands go straight onto a
redis-py `Connection`: the same protocol code, made with the client's own connection settings
(address, credentials, timeouts), one per thread and client, never shared.

What the wrapping did that matters here is kept:
- a connection the server closed while it was kept (a Redis restart, its idle timeout) fails on
  its next command with a `ConnectionError`; it is replaced and the command sent once more, as
  the client's retry would have. Only a server that died between running a command and
  answering it makes the resent one run twice: the rate limit then counts one request twice,
  and the doorbell finds its own mark and publishes nothing, which beat's `dispatch_all` makes
  good within seconds (the row is the truth, the mark only a doorbell);
- a timeout is not sent again (the server may have run the command): the caller's own failure
  path decides, as before;
- a connection opened before a fork is never used by the child (its socket is the parent's).
"""

from __future__ import annotations

import os
import threading
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError


class ThreadLink:
    """One connection per thread for the commands of one client (its pool's settings)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def command(self, client: Any, *args: Any) -> Any:
        """Send one command; its reply, as the connection parses it (bytes, ints, lists).

        Raises what redis-py raises: `ResponseError` for an error reply (the connection stays
        usable), `ConnectionError` or `TimeoutError` when the server could not be reached.
        """
        connection = self._connection(client)
        kept = connection.is_connected
        try:
            return self._round_trip(connection, args)
        except RedisConnectionError:
            if not kept:
                raise
            # The connection has disconnected itself; sending reconnects.
            return self._round_trip(connection, args)

    def script(self, client: Any, script: Any, keys: list[str], args: list[Any]) -> Any:
        """Run a registered script (`client.register_script`) by its hash; by its text when the
        server does not have it yet (a new or restarted Redis), which also loads it."""
        try:
            return self.command(client, "EVALSHA", script.sha, len(keys), *keys, *args)
        except NoScriptError:
            return self.command(client, "EVAL", script.script, len(keys), *keys, *args)

    def drop(self) -> None:
        """Close this thread's connection (after a failure the caller handles itself)."""
        held = getattr(self._local, "held", None)
        self._local.held = None
        if held is not None:
            held[1].disconnect()

    def _connection(self, client: Any) -> Any:
        pool = client.connection_pool
        held = getattr(self._local, "held", None)
        if held is not None and held[0] is pool and held[1].pid == os.getpid():
            return held[1]
        # A redis-py Connection disconnects without shutting the socket down in another
        # process, so the parent's connection is left alone.
        connection = pool.connection_class(**pool.connection_kwargs)
        self._local.held = (pool, connection)
        return connection

    @staticmethod
    def _round_trip(connection: Any, args: tuple[Any, ...]) -> Any:
        connection.send_command(*args)
        return connection.read_response()
