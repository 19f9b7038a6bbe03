"""Webhook delivery: JSON POSTs from background workers, one per target URL.

One worker per URL keeps each receiver's events in order (notLogged before qrcode) while a
receiver that hangs cannot delay the others. Like the real server: no retry, failures logged.
"""

from __future__ import annotations

import collections
import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 3.0
_STOP = None


class WebhookSender:
    def __init__(self) -> None:
        self.enabled = True
        self._queues: dict[str, queue.Queue[dict[str, Any] | None]] = {}
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._log: collections.deque[dict[str, Any]] = collections.deque(maxlen=1000)
        # Queued or being posted, per session: tests wait for 0 before trusting what the
        # receiver stored.
        self._pending: collections.Counter[str] = collections.Counter()

    def send(self, url: str | None, event: str, session: str, payload: dict[str, Any]) -> None:
        if not url or not self.enabled:
            return
        # The real server merges event and session in front of the event data.
        body = {"event": event, "session": session, **payload}
        q = self._queue_for(url)
        with self._lock:
            self._pending[session] += 1
        q.put(body)

    def pending(self, session: str | None = None) -> int:
        with self._lock:
            return self._pending[session] if session else sum(self._pending.values())

    def deliveries(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._log)

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    def stop(self) -> None:
        with self._lock:
            for q in self._queues.values():
                q.put(_STOP)
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=TIMEOUT_SECONDS + 1)

    def _queue_for(self, url: str) -> queue.Queue[dict[str, Any] | None]:
        with self._lock:
            q = self._queues.get(url)
            if q is None:
                q = self._queues[url] = queue.Queue()
                thread = threading.Thread(
                    target=self._work, args=(url, q), name="wppsim-webhook", daemon=True
                )
                self._threads.append(thread)
                thread.start()
            return q

    def _work(self, url: str, q: queue.Queue[dict[str, Any] | None]) -> None:
        while True:
            body = q.get()
            if body is _STOP:
                return
            assert body is not None
            try:
                self._post(url, body)
            finally:
                with self._lock:
                    self._pending[body["session"]] -= 1

    def _post(self, url: str, body: dict[str, Any]) -> None:
        entry: dict[str, Any] = {
            "url": url,
            "event": body["event"],
            "session": body["session"],
            "t": time.time(),
        }
        request = urllib.request.Request(
            url,
            data=json.dumps(body).encode("utf-8"),
            headers={"Content-Type": "application/json", "User-Agent": "axios/1.6.0"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                entry["status"] = response.status
        except urllib.error.HTTPError as exc:
            entry["status"] = exc.code
        except (OSError, ValueError) as exc:
            entry["error"] = str(exc)
            # Only the host: the path of a product's webhook URL carries its secret.
            where = urllib.parse.urlsplit(url).netloc
            logger.warning("webhook %s to %s failed: %s", body["event"], where, exc)
        with self._lock:
            self._log.append(entry)
