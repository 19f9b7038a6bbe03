"""What each gateway event does, reading its payload defensively (contract §6).

Every value is read with whatsapp.gateway.values: a missing field, a wrong type, a timestamp
like 1e20 or a NUL byte make that field empty, never an exception that stops the event.
"""

from __future__ import annotations

from typing import Any

from whatsapp.gateway import values
from whatsapp.gateway.parse import wid_to_str
from whatsapp.models import Instance
from whatsapp.models.instance import SessionStatus
from whatsapp.services import inbound, receipts, session_state
from whatsapp.services.session_state import Observed

# Library states (contract §4.2) that mean the browser or the login is gone.
CLOSED_STATES = {"browserClose", "autocloseCalled", "serverClose", "disconnectedMobile"}
CONNECTED_STATES = {"inChat", "isLogged"}
# Events about the session itself: applied in the order received (a late `qrcode` after
# `inChat` would show a connected session as waiting for a scan). The rest may run in any order.
SESSION_EVENTS = frozenset({"status-find", "qrcode", "phoneCode", "closesession", "logoutsession"})
# A QR code is a PNG data URL of a few kilobytes; anything far larger is not one.
MAX_QR_LENGTH = 200_000


def dedupe_key(event: str, payload: dict[str, Any]) -> str | None:
    ident = wid_to_str(payload.get("id"))  # onack carries an object id (contract §8.18)
    if event == "onack" and ident:
        ack = values.small_int(payload.get("ack"), -1, 4)
        return f"onack:{ident}:{ack}"
    if event == "onmessage" and ident:
        return f"onmessage:{ident}"
    return None


def apply(instance: Instance, name: str, payload: dict[str, Any]) -> str:
    """Apply one event; returns what it did, for the event's `outcome`."""
    if name == "onack":
        return receipts.apply_ack(instance, payload)
    if name == "onmessage":
        return inbound.store(instance, payload)
    state = values.text(payload.get("status"), 40)
    if name == "status-find" and state in {"qrReadFail", "qrReadError"}:
        session_state.note_error(instance, f"QR code not accepted ({state})")
        return f"status {state}: QR code not accepted"
    observed = observed_of(name, payload)
    if isinstance(observed, str):
        return observed
    session_state.observe(instance, observed)
    return f"{name}: applied"


def observed_of(name: str, payload: dict[str, Any]) -> Observed | str:
    """What a session event says about the session, or why it says nothing."""
    if name == "status-find":
        state = values.text(payload.get("status"), 40)
        if state in CONNECTED_STATES:
            return Observed(SessionStatus.CONNECTED, needs_scan=False, error="")
        if state == "disconnectedMobile":
            return Observed(
                SessionStatus.CLOSED,
                phone="",
                device={},
                error="disconnected from the phone",
                reason="phone",
            )
        if state in CLOSED_STATES:
            return Observed(SessionStatus.CLOSED, reason="browser")
        return f"status {state}: noted"
    if name == "qrcode":
        code = values.text(payload.get("qrcode"))
        if not code or len(code) > MAX_QR_LENGTH:
            return "qrcode without image"
        if not code.startswith("data:"):
            code = f"data:image/png;base64,{code}"  # the webhook omits the prefix (contract §6)
        return Observed(SessionStatus.QRCODE, qr_code=code)
    if name == "phoneCode":
        code = values.text(payload.get("phoneCode"), 32)
        return Observed(SessionStatus.PHONECODE, pairing_code=code)
    if name == "closesession":
        return Observed(SessionStatus.CLOSED, reason="close")
    if name == "logoutsession":
        return Observed(SessionStatus.CLOSED, phone="", device={}, needs_scan=True, reason="logout")
    return "ignored"
