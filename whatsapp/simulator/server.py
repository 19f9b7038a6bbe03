"""Starting, stopping and temporarily refusing connections on the listening socket."""

from __future__ import annotations

import logging
import socket
import sys
import threading
import time
from http.server import ThreadingHTTPServer
from typing import Any

from .httpd import Handler
from .state import Simulator

logger = logging.getLogger(__name__)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Handler threads may be parked in a hang fault; stop() must not wait for them.
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], owner: SimulatorServer) -> None:
        self.owner = owner
        super().__init__(address, Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeouts in fault tests) is routine, not a stack trace.
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            logger.debug("client %s went away: %s", client_address, exc)
            return
        logger.exception("simulator request from %s failed", client_address)


class SimulatorServer:
    def __init__(
        self,
        secret_key: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        auto_close: float = 60.0,
        qr_interval: float = 20.0,
        init_delay: float = 1.0,
    ) -> None:
        self.sim = Simulator(
            secret_key, auto_close=auto_close, qr_interval=qr_interval, init_delay=init_delay
        )
        self.host = host
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._stopped = False
        self._relisten: threading.Timer | None = None
        self._httpd: _HTTPServer | None = _HTTPServer((host, port), self)
        self.port: int = self._httpd.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        with self._lock:
            assert self._httpd is not None
            self._thread = self._serve(self._httpd)

    def _serve(self, httpd: _HTTPServer) -> threading.Thread:
        thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="wppsim-http"
        )
        thread.daemon = True
        thread.start()
        return thread

    def track(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.add(conn)

    def untrack(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.discard(conn)

    def _close_listener(self, keep: Any = None) -> None:
        with self._lock:
            httpd, self._httpd = self._httpd, None
            conns = [c for c in self._connections if c is not keep]
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        # Keep-alive connections would otherwise keep working through a "refused" window.
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def refuse(self, seconds: float, keep: Any = None) -> None:
        """Stops listening so connects fail with ECONNREFUSED, then listens again."""
        self._close_listener(keep)
        timer = threading.Timer(seconds, self._listen_again)
        timer.daemon = True
        with self._lock:
            self._relisten = timer
        timer.start()

    def listen_again(self) -> None:
        """Ends a refusal early (in-process callers: the gateway "comes back" at once)."""
        with self._lock:
            timer, self._relisten = self._relisten, None
            listening = self._httpd is not None
        if timer is not None:
            timer.cancel()
        if not listening:
            self._listen_again()

    def _listen_again(self) -> None:
        for _ in range(100):
            with self._lock:
                if self._stopped:
                    return
                try:
                    self._httpd = _HTTPServer((self.host, self.port), self)
                except OSError:
                    pass
                else:
                    self._thread = self._serve(self._httpd)
                    return
            time.sleep(0.05)
        logger.error("simulator could not listen again on port %s", self.port)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            if self._relisten is not None:
                self._relisten.cancel()
        self.sim.stop()
        self._close_listener()
