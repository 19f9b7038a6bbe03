"""Start a simulator inside a test process and drive it through its control API."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlencode

from . import DEFAULT_SECRET_KEY
from .server import SimulatorServer


class SimulatorControlError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"simulator control call failed with {status}: {body}")
        self.status = status
        self.body = body


class SimulatorHandle:
    def __init__(self, server: SimulatorServer) -> None:
        self.server = server
        self.port = server.port
        self.url = server.url
        self.secret_key = server.sim.secret_key

    def __enter__(self) -> SimulatorHandle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        self.server.stop()

    def token(self, session: str) -> str:
        """A valid token minted offline, as a client would (contract §2.1)."""
        return self.server.sim.tokens.mint(session)

    def auth_headers(self, session: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(session)}"}

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                payload: Any = json.loads(raw)
            except ValueError:
                payload = raw.decode("utf-8", "replace")
            raise SimulatorControlError(exc.code, payload) from None

    def _session_path(self, session: str, action: str) -> str:
        return f"/_sim/sessions/{quote(session, safe='')}/{action}"

    def scan(self, session: str, phone: str | None = None) -> dict[str, Any]:
        body = {"phone": phone} if phone else {}
        return self._call("POST", self._session_path(session, "scan"), body)

    def unlink(self, session: str) -> dict[str, Any]:
        return self._call("POST", self._session_path(session, "unlink"), {})

    def incoming(self, session: str, phone: str, body: str = "", **media: Any) -> dict[str, Any]:
        """A contact writes; with `media_base64` (and `mimetype`, `type`, `filename`,
        `caption`) it sends a file, downloadable with download-media. `lid=True` makes `phone` a
        LID, `group="…@g.us"` sends it in that group, `quoted=<id>` replies, `push_name`."""
        payload = {"phone": phone, "body": body, **media}
        result = self._call("POST", self._session_path(session, "incoming"), payload)
        return result["message"]

    def ack(self, message_id: str, ack: int) -> dict[str, Any]:
        path = f"/_sim/messages/{quote(message_id, safe='')}/ack"
        return self._call("POST", path, {"ack": ack})

    def set_fault(self, route: str = "*", **fault: Any) -> dict[str, Any]:
        return self._call("POST", "/_sim/faults", {"route": route, **fault})

    def clear_faults(self) -> None:
        self._call("DELETE", "/_sim/faults")

    def set_acks(self, delivered_after: float | None, read_after: float | None) -> None:
        body = {"delivered_after": delivered_after, "read_after": read_after}
        self._call("POST", "/_sim/acks", body)

    def set_webhooks(self, enabled: bool) -> None:
        self._call("POST", "/_sim/webhooks", {"enabled": enabled})

    def webhook_deliveries(self) -> list[dict[str, Any]]:
        return self._call("GET", "/_sim/webhooks")["deliveries"]

    def wait_webhooks_posted(self, session: str, timeout: float = 30.0) -> None:
        """Until every webhook about `session` queued so far has been posted (or failed)."""
        deadline = time.monotonic() + timeout
        path = f"/_sim/webhooks?{urlencode({'session': session})}"
        while self._call("GET", path)["pending"]:
            if time.monotonic() > deadline:
                raise TimeoutError("the simulator still has webhooks to post")
            time.sleep(0.02)

    def refuse(self, seconds: float) -> None:
        """Connections are refused from when this returns until `seconds` later."""
        self._call("POST", "/_sim/refuse", {"seconds": seconds})

    def come_back(self) -> None:
        """Listen again now, ending a `refuse()` window early."""
        self.server.listen_again()

    def sends(self) -> int:
        """How many sends the simulator has taken so far, read from its memory (it runs in this
        process): polled in a tight loop, it costs the simulator nothing, unlike `ledger`."""
        return self.server.sim.messages.sends()

    def ledger(self, phone: str | None = None, message: str | None = None) -> list[dict[str, Any]]:
        query = {k: v for k, v in (("phone", phone), ("message", message)) if v is not None}
        path = "/_sim/ledger" + (f"?{urlencode(query)}" if query else "")
        return self._call("GET", path)["sends"]

    def sessions(self) -> list[dict[str, Any]]:
        return self._call("GET", "/_sim/sessions")["sessions"]

    def session(self, name: str) -> dict[str, Any] | None:
        return next((s for s in self.sessions() if s["name"] == name), None)

    def wait_for_status(self, name: str, status: str, timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            entry = self.session(name)
            if entry is not None and entry["status"] == status:
                return entry
            if time.monotonic() > deadline:
                raise TimeoutError(f"session {name!r} never reached {status}: {entry}")
            time.sleep(0.02)

    def calls(self, session: str) -> dict[str, int]:
        """How many times each route was called for this session (authenticated routes)."""
        return self._call("GET", f"/_sim/calls?session={session}")["calls"]

    def reset(self, seed: int | None = None) -> None:
        self._call("POST", "/_sim/reset", {} if seed is None else {"seed": seed})

    def set_unknown_numbers(self, phones: list[str]) -> None:
        self._call("POST", "/_sim/numbers/unknown", {"phones": phones})

    def settings(self, **values: float) -> dict[str, Any]:
        return self._call("POST", "/_sim/settings", values)


def start_simulator(
    secret_key: str = DEFAULT_SECRET_KEY,
    *,
    port: int = 0,
    auto_close: float = 60,
    qr_interval: float = 20,
    init_delay: float = 0.2,
) -> SimulatorHandle:
    """Starts a simulator on 127.0.0.1 in background threads (port 0 picks a free port)."""
    server = SimulatorServer(
        secret_key,
        host="127.0.0.1",
        port=port,
        auto_close=auto_close,
        qr_interval=qr_interval,
        init_delay=init_delay,
    )
    server.start()
    return SimulatorHandle(server)
