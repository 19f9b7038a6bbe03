"""Per-route fault injection, with a seedable random source for repeatable fault tests."""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass
from typing import Any

ANY_ROUTE = "*"

# The 5xx body each handler of the real server answers when its library call throws.
# Routes not listed get a generic body in the same style.
ERROR_BODIES: dict[str, Any] = {
    "send-message": {"status": "Error", "message": "Erro ao enviar a mensagem.", "error": {}},
    "status-session": {"status": "error", "message": "The session is not active", "error": {}},
    "qrcode-session": {"status": "error", "message": "Error retrieving QRCode", "error": {}},
    "close-session": {"status": False, "message": "Error closing session", "error": {}},
    "logout-session": {"status": False, "message": "Error closing session", "error": {}},
    "start-session": {"status": "error", "message": "Error starting session", "error": {}},
    "host-device": {
        "status": "error",
        "message": "Erro ao recuperar dados do telefone",
        "error": {},
    },
    "get-phone-number": {
        "status": "error",
        "message": "Error retrieving phone number",
        "error": {},
    },
    "check-number-status": {
        "status": "error",
        "message": "Error on check number status",
        "error": {},
    },
    "get-messages": {"status": "error", "response": "Error on open list", "error": {}},
    "all-messages-in-chat": {
        "status": "error",
        "message": "Error on get all messages in chat",
        "error": {},
    },
}
# The send routes of messageController share send-message's failure body (companion §1.7).
for _route in (
    "send-file-base64",
    "send-file",
    "send-image",
    "send-voice-base64",
    "send-location",
    "send-reply",
):
    ERROR_BODIES[_route] = ERROR_BODIES["send-message"]
ERROR_BODIES["contact-vcard"] = {
    "status": "error",
    "message": "Error on send contact vcard",
    "error": {},
}
ERROR_BODIES["download-media"] = {"status": "error", "message": "Decrypt file error", "error": {}}
GENERIC_ERROR_BODY = {"status": "error", "message": "Internal server error", "error": {}}
# Handlers whose failure status is not 500 (deviceController.ts: returnError, getMessages;
# sessionController.downloadMediaByMessage).
ERROR_STATUSES = {"message-by-id": 400, "get-messages": 401, "download-media": 400}


def error_body(route: str) -> Any:
    return ERROR_BODIES.get(route, GENERIC_ERROR_BODY)


def error_status(route: str, fault: Fault) -> int:
    return fault.error_status or ERROR_STATUSES.get(route, 500)


@dataclass
class Fault:
    latency: float = 0.0
    hang: float = 0.0
    error_rate: float = 0.0
    # None: the status the route's real handler fails with (500 for most).
    error_status: int | None = None
    drop_rate: float = 0.0
    # The send happens, and the answer's list holds null instead of the message: what a page
    # value that serialises to undefined gives (companion contract §1.8).
    null_rate: float = 0.0
    stay_initializing: bool = False

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        known = {k: data[k] for k in asdict(cls()) if k in data and data[k] is not None}
        fault = cls(**known)
        fault.latency = float(fault.latency)
        fault.hang = float(fault.hang)
        fault.error_rate = float(fault.error_rate)
        fault.drop_rate = float(fault.drop_rate)
        fault.null_rate = float(fault.null_rate)
        if fault.error_status is not None:
            fault.error_status = int(fault.error_status)
        fault.stay_initializing = bool(fault.stay_initializing)
        if not all(0 <= rate <= 1 for rate in (fault.error_rate, fault.drop_rate, fault.null_rate)):
            raise ValueError("error_rate, drop_rate and null_rate must be between 0 and 1")
        if fault.latency < 0 or fault.hang < 0:
            raise ValueError("latency and hang must not be negative")
        if fault.error_status is not None and not 100 <= fault.error_status <= 599:
            raise ValueError("error_status must be an HTTP status code")
        return fault


class Faults:
    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._by_route: dict[str, Fault] = {}
        self._rng = random.Random(seed)

    def set(self, route: str, fault: Fault) -> None:
        with self._lock:
            self._by_route[route] = fault

    def clear(self) -> None:
        with self._lock:
            self._by_route.clear()

    def seed(self, seed: int | None) -> None:
        with self._lock:
            self._rng = random.Random(seed)

    def as_json(self) -> dict[str, Any]:
        with self._lock:
            return {route: asdict(fault) for route, fault in self._by_route.items()}

    def for_route(self, route: str) -> list[Fault]:
        with self._lock:
            return [f for r, f in self._by_route.items() if r in (route, ANY_ROUTE)]

    def roll(self, probability: float) -> bool:
        if probability <= 0:
            return False
        with self._lock:
            return self._rng.random() < probability

    def stay_initializing(self) -> bool:
        return any(f.stay_initializing for f in self.for_route("start-session"))
