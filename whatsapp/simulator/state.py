"""The session state machine (contract §4): what the real server keeps in `clientsArray`."""

from __future__ import annotations

import threading
import time
from typing import Any

from . import SERVER_VERSION, qr
from .auth import TokenVerifier
from .faults import Faults
from .messages import MessageStore, own_number
from .model import (
    CLOSED,
    CODE_STATES,
    CONNECTED,
    INITIALIZING,
    PHONECODE,
    QRCODE,
    Session,
    Settings,
)
from .scheduler import Scheduler
from .webhooks import WebhookSender


class Simulator:
    """All simulator state behind one lock; timers re-check `epoch` so stale ones do nothing."""

    def __init__(
        self, secret_key: str, *, auto_close: float, qr_interval: float, init_delay: float
    ) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.stopping = threading.Event()
        self.tokens = TokenVerifier(secret_key)
        self.faults = Faults()
        self.webhooks = WebhookSender()
        self.scheduler = Scheduler()
        self.messages = MessageStore()
        self.started_at = time.monotonic()
        self._defaults = (auto_close, qr_interval, init_delay)
        self.request_counts: dict[str, int] = {}
        self.session_request_counts: dict[str, int] = {}
        self._reset_state()

    def _reset_state(self) -> None:
        self.settings = Settings(*self._defaults)
        self.sessions: dict[str, Session] = {}
        self.known: dict[str, dict[str, Any]] = {}  # the token store: name -> start body
        self.logins: dict[str, str] = {}  # names whose browser profile holds a login
        self.leaked: set[str] = set()
        self.cleared: set[str] = set()  # names whose profile clear-session-data deleted

    @property
    def secret_key(self) -> str:
        return self.tokens.secret_key

    def reset(self, seed: int | None = None) -> None:
        with self.lock:
            self.scheduler.clear()
            self._reset_state()
            self.faults.clear()
            self.faults.seed(seed)
            self.messages.clear()
            self.webhooks.enabled = True
            self.webhooks.clear_log()
            self.request_counts.clear()
            self.session_request_counts.clear()
            self.changed.notify_all()

    def stop(self) -> None:
        self.stopping.set()
        with self.lock:
            self.changed.notify_all()
        self.scheduler.stop()
        self.webhooks.stop()

    # -- reads ---------------------------------------------------------------------------

    def status_view(self, name: str) -> dict[str, Any]:
        """The status-session body; start-session answers this, computed before starting."""
        with self.lock:
            obj = self.sessions.get(name)
            if obj is None or obj.status is None:
                return {"status": CLOSED, "qrcode": None}
            view: dict[str, Any] = {
                "status": obj.status,
                # urlcode is never cleared, so CONNECTED/CLOSED still carry a stale QR (§4.1).
                "qrcode": qr.data_url(obj.qr_png) if obj.qr_png else None,
            }
            if obj.urlcode:
                view["urlcode"] = obj.urlcode
            view["version"] = SERVER_VERSION
            return view

    def session_key(self, name: str) -> str | None:
        """What the response hook injects as `session` for an authenticated caller (§1)."""
        with self.lock:
            obj = self.sessions.get(name)
            if obj is None:
                return ""
            return obj.name

    def is_connected(self, name: str) -> bool:
        with self.lock:
            obj = self.sessions.get(name)
            return obj is not None and obj.status == CONNECTED

    def own_of(self, name: str) -> str:
        with self.lock:
            obj = self.sessions.get(name)
            if obj is not None and obj.own:
                return obj.own
            return self.logins.get(name) or own_number(name)

    def webhook_of(self, name: str) -> str | None:
        with self.lock:
            obj = self.sessions.get(name)
            return obj.webhook if obj else None

    def number_exists(self, digits: str) -> bool:
        with self.lock:
            unknown = digits in self.settings.unknown_numbers
        return not unknown and not digits.endswith("0000000")

    def _emit(self, obj: Session, event: str, **payload: Any) -> None:
        if obj.name is not None:
            self.webhooks.send(obj.webhook, event, obj.name, payload)

    def _live(self, name: str, obj: Session, epoch: int) -> bool:
        return self.sessions.get(name) is obj and obj.epoch == epoch

    # -- starting ------------------------------------------------------------------------

    def start(self, name: str, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Returns (the status before this call, whether a new start happened)."""
        with self.lock:
            before = self.status_view(name)
            obj = self.sessions.get(name)
            if obj is not None and obj.status not in (None, CLOSED):
                return before, False
            webhook = body.get("webhook")
            phone = body.get("phone")
            obj = Session(
                name=name,
                status=INITIALIZING,
                webhook=webhook if isinstance(webhook, str) and webhook else None,
                pairing_phone=str(phone) if phone else None,
            )
            self.sessions[name] = obj
            self.known[name] = dict(body)
            self.changed.notify_all()
            if name in self.leaked or self.faults.stay_initializing():
                # The real server never leaves INITIALIZING when the browser fails to come up.
                return before, True
            epoch = obj.epoch
            self.scheduler.call_later(
                self.settings.init_delay, lambda: self._after_init(name, obj, epoch)
            )
            return before, True

    def _after_init(self, name: str, obj: Session, epoch: int) -> None:
        with self.lock:
            if not self._live(name, obj, epoch):
                return
            if name in self.logins:
                obj.own = self.logins[name]
                self._emit(obj, "status-find", status="isLogged")
                self._emit(obj, "status-find", status="inChat")
                obj.status = CONNECTED
                self.changed.notify_all()
                return
            self._emit(obj, "status-find", status="notLogged")
            if obj.pairing_phone:
                obj.pairing_code = qr.new_pairing_code()
                obj.status = PHONECODE
                self._emit(obj, "phoneCode", phoneCode=obj.pairing_code, phone=obj.pairing_phone)
            else:
                self._new_qr(obj)
                self.scheduler.call_later(
                    self.settings.qr_interval, lambda: self._refresh_qr(name, obj, epoch)
                )
            self.scheduler.call_later(
                self.settings.auto_close, lambda: self._auto_close(name, obj, epoch)
            )
            self.changed.notify_all()

    def _new_qr(self, obj: Session) -> None:
        obj.urlcode = qr.new_urlcode()
        obj.qr_png = qr.qr_png(obj.urlcode)
        obj.qr_version += 1
        obj.status = QRCODE
        self._emit(obj, "qrcode", qrcode=qr.png_base64(obj.qr_png), urlcode=obj.urlcode)

    def _refresh_qr(self, name: str, obj: Session, epoch: int) -> None:
        with self.lock:
            if not self._live(name, obj, epoch) or obj.status != QRCODE:
                return
            self._new_qr(obj)
            self.changed.notify_all()
            self.scheduler.call_later(
                self.settings.qr_interval, lambda: self._refresh_qr(name, obj, epoch)
            )

    def _auto_close(self, name: str, obj: Session, epoch: int) -> None:
        with self.lock:
            if not self._live(name, obj, epoch) or obj.status not in (QRCODE, PHONECODE):
                return
            obj.epoch += 1
            obj.status = CLOSED
            # autocloseCalled is lost in the QR phase (the server's handler throws first, §4.3).
            self._emit(obj, "status-find", status="browserClose")
            self.changed.notify_all()

    def wait_for_code(self, name: str, timeout: float) -> dict[str, Any] | None:
        """Blocks until the first QR or pairing code, as start-session with waitQrCode does."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while not self.stopping.is_set():
                obj = self.sessions.get(name)
                if obj is not None and obj.status == QRCODE and obj.qr_png:
                    return {
                        "status": "qrcode",
                        "qrcode": qr.png_base64(obj.qr_png),
                        "urlcode": obj.urlcode,
                        "session": name,
                    }
                if obj is not None and obj.status == PHONECODE:
                    return {
                        "status": "phoneCode",
                        "phone": obj.pairing_phone,
                        "phoneCode": obj.pairing_code,
                        "session": name,
                    }
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self.changed.wait(min(remaining, 0.5))
        return None

    # -- the phone's side ------------------------------------------------------------------

    def scan(self, name: str, phone: str | None = None) -> str | None:
        """Links the device. Returns an error text when there is nothing to scan."""
        with self.lock:
            obj = self.sessions.get(name)
            if obj is None or obj.status not in (QRCODE, PHONECODE):
                status = obj.status if obj else None
                return f"session {name!r} is not waiting for a scan (status {status})"
            obj.epoch += 1
            obj.own = phone or obj.pairing_phone or self.logins.get(name) or own_number(name)
            self.logins[name] = obj.own
            self._emit(obj, "status-find", status="qrReadSuccess")
            self._emit(obj, "status-find", status="inChat")
            obj.status = CONNECTED
            self.changed.notify_all()
            return None

    def unlink(self, name: str) -> str | None:
        with self.lock:
            obj = self.sessions.get(name)
            if obj is None or obj.status != CONNECTED:
                return f"session {name!r} is not connected"
            self._emit(obj, "status-find", status="disconnectedMobile")
            obj.epoch += 1
            obj.status = CLOSED
            del self.sessions[name]
            self.logins.pop(name, None)
            self.changed.notify_all()
            return None

    # -- close and logout ------------------------------------------------------------------

    def close(self, name: str) -> tuple[int, dict[str, Any]]:
        ok = {"status": True, "message": "Session successfully closed"}
        failed = {"status": False, "message": "Error closing session", "error": {"level": "error"}}
        with self.lock:
            obj = self.sessions.get(name)
            if obj is None:
                return 500, failed
            if obj.status is None:
                return 200, ok
            obj.epoch += 1
            self.sessions[name] = Session(name=None, status=None)
            self.changed.notify_all()
            if obj.status == CONNECTED:
                self._emit(
                    obj, "closesession", message=f"Session: {name} disconnected", connected=False
                )
                self._emit(obj, "status-find", status="browserClose")
                return 200, ok
            if obj.status in CODE_STATES:
                # The state is reset but the browser keeps running: the next start of this
                # name finds its profile locked and never gets past INITIALIZING (§5.6).
                self.leaked.add(name)
            return 500, failed

    def logout(self, name: str) -> tuple[int, dict[str, Any]]:
        # The server answers ~0.5 s later, after the library's logout resolves.
        self.stopping.wait(0.5)
        with self.lock:
            obj = self.sessions.get(name)
            if obj is None or obj.status != CONNECTED:
                return 500, {"status": False, "message": "Error closing session", "error": {}}
            obj.epoch += 1
            self._emit(obj, "logoutsession", message=f"Session: {name} logged out", connected=False)
            del self.sessions[name]
            self.logins.pop(name, None)
            self.changed.notify_all()
            return 200, {"status": True, "message": "Session successfully closed"}

    # -- control-page view -----------------------------------------------------------------

    def session_list(self) -> list[dict[str, Any]]:
        with self.lock:
            names = list(dict.fromkeys([*self.known, *self.sessions, *self.leaked]))
            out = []
            for name in names:
                obj = self.sessions.get(name)
                status = self.status_view(name)["status"]
                out.append(
                    {
                        "name": name,
                        "status": status,
                        "connected": status == CONNECTED,
                        "phone": (obj.own if obj and obj.own else self.logins.get(name)),
                        "pairing_code": obj.pairing_code if obj and status == PHONECODE else None,
                        "qr_version": obj.qr_version if obj else 0,
                        "urlcode": obj.urlcode if obj else None,
                        "leaked": name in self.leaked,
                        "cleared": name in self.cleared,
                        "webhook": obj.webhook if obj else None,
                        "logged_in": name in self.logins,
                    }
                )
            return out

    def qr_png_of(self, name: str) -> bytes | None:
        with self.lock:
            obj = self.sessions.get(name)
            return obj.qr_png if obj and obj.status == QRCODE else None
