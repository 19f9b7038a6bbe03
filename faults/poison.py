"""A poison message for the fault suite: the worker child that sends it dies (SIGKILL) in the
middle of the gateway call, every time, as a crash in a native library would kill it.

Loaded only by the fault suite's workers (`celery worker --include faults.poison`); a message
whose text starts with MARKER is the poison. Nothing else changes.
"""

from __future__ import annotations

import os
import signal
from typing import Any

import requests

MARKER = "POISON-"
_real_send = requests.Session.send


def _send(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> Any:
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode()
    url = request.url or ""
    if url.endswith("/send-message") and f'"{MARKER}'.encode() in body:
        os.kill(os.getpid(), signal.SIGKILL)
    return _real_send(self, request, **kwargs)


requests.Session.send = _send  # type: ignore[method-assign]
