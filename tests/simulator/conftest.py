from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from whatsapp.simulator.testing import start_simulator

SECRET = "sim-test-secret"


@pytest.fixture(scope="session")
def _simulator():
    handle = start_simulator(SECRET, auto_close=30, qr_interval=20, init_delay=0.05)
    yield handle
    handle.stop()


@pytest.fixture
def sim(_simulator):
    _simulator.reset(seed=1)
    yield _simulator
    _simulator.reset()


class Receiver:
    """A webhook target that remembers every event it was sent."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self._cond = threading.Condition()
        receiver = self

        class _Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length))
                with receiver._cond:
                    receiver.events.append(body)
                    receiver._cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def wait_for(self, event: str, timeout: float = 3.0, **fields) -> dict:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for body in self.events:
                    if body["event"] == event and all(body.get(k) == v for k, v in fields.items()):
                        return body
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {event} {fields} webhook; got {self.names()}")
                self._cond.wait(remaining)

    def names(self) -> list[str]:
        with self._cond:
            return [
                f"{b['event']}:{b['status']}" if b["event"] == "status-find" else b["event"]
                for b in self.events
            ]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


class Api:
    """A bare client for one session, talking HTTP like the product does."""

    def __init__(self, sim, session: str) -> None:
        self.sim = sim
        self.session = session
        self.base = f"{sim.url}/api/{session}"
        self.headers = sim.auth_headers(session)

    def get(self, action: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 5)
        return requests.get(f"{self.base}/{action}", headers=self.headers, **kwargs)

    def post(self, action: str, body: dict | None = None, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 5)
        return requests.post(
            f"{self.base}/{action}", json=body or {}, headers=self.headers, **kwargs
        )

    def status(self) -> dict:
        return self.get("status-session").json()

    def connect(self, webhook: str | None = None, phone: str | None = None) -> None:
        body = {"webhook": webhook} if webhook else {}
        assert self.post("start-session", body).status_code == 200
        self.sim.wait_for_status(self.session, "QRCODE")
        self.sim.scan(self.session, phone)
        self.sim.wait_for_status(self.session, "CONNECTED")

    def send(self, phone, message: str = "hello", **extra) -> requests.Response:
        return self.post("send-message", {"phone": phone, "message": message, **extra})


@pytest.fixture
def api(sim):
    return Api(sim, "demo")
