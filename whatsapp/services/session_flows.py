"""What each session operation does on the gateway, with the contract's traps handled here.

Each flow returns the operation's result or raises OperationFailed / GatewayError. They run in a
worker of the sessions queue, never in a web request.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from whatsapp.conf import conf
from whatsapp.gateway import GatewayClient, GatewayError, SessionState
from whatsapp.models import SessionOperation
from whatsapp.models.instance import Instance, SessionStatus
from whatsapp.services import session_state
from whatsapp.services.errors import OperationFailed
from whatsapp.services.gateway import client_for, webhook_url
from whatsapp.services.session_state import Observed

logger = logging.getLogger(__name__)

POLL_SECONDS = 1.0
STARTING = (SessionStatus.INITIALIZING,)
WAITING_FOR_USER = (SessionStatus.QRCODE, SessionStatus.PHONECODE)


def state_result(instance: Instance, state: SessionState) -> dict[str, Any]:
    return {
        "state": state.status,
        "connected": state.connected,
        "qrcode": instance.qr_code or None if state.status == SessionStatus.QRCODE else None,
        "pairing_code": instance.pairing_code or None
        if state.status == SessionStatus.PHONECODE
        else None,
        "code_produced_at": instance.code_produced_at.isoformat()
        if instance.code_produced_at and state.status in WAITING_FOR_USER
        else None,
        "phone": instance.phone or None,
    }


def _device_fields(client: GatewayClient) -> dict[str, Any]:
    try:
        device = client.host_device()
    except GatewayError as exc:
        logger.info("host-device failed after connect: %s", exc.message)
        return {}
    return {
        "phone": device.phone or "",
        "device": {"pushname": device.pushname, "platform": device.platform},
    }


def observe(instance: Instance, client: GatewayClient, *, reason: str = "") -> SessionState:
    """Read the gateway's state and store it; device details too when newly connected.

    `reason` says why a change would have happened (e.g. "close" after closing it).
    """
    state = client.status()
    if state.status == SessionStatus.CONNECTED and not client.check_connection():
        # CONNECTED can outlive a crashed browser (contract §4.1): trust check-connection too.
        state = SessionState(
            status=SessionStatus.CLOSED,
            connected=False,
            qrcode=None,
            version=state.version,
            raw_status=state.raw_status,
        )
    extra = _device_fields(client) if state.connected and not instance.phone else {}
    if state.status == SessionStatus.QRCODE and not state.qrcode:
        qrcode = client.qrcode()
        if qrcode:
            state = SessionState(
                status=state.status,
                connected=False,
                qrcode=qrcode,
                version=state.version,
                raw_status=state.raw_status,
            )
    session_state.observe(
        instance, Observed(state.status, qr_code=state.qrcode, reason=reason, **extra)
    )
    return state


class WaitLonger(Exception):
    """The operation must wait longer than one run may: run it again in a moment."""


def other_method_waiting(status: str, phone: str) -> bool:
    """The gateway shows a QR while a pairing code is asked for, or the other way round."""
    return (status == SessionStatus.QRCODE and bool(phone)) or (
        status == SessionStatus.PHONECODE and not phone
    )


def start(operation: SessionOperation) -> dict[str, Any]:
    instance = operation.instance
    client = client_for(instance)
    budget_end = time.monotonic() + conf.START_BUDGET
    state = observe(instance, client)
    if other_method_waiting(state.status, operation.phone):
        # Switching between QR and pairing code: the gateway cannot drop the code it shows
        # (close-session now leaks its browser and blocks every later start, §5.6), so wait for
        # it to expire (autoClose, §4.3) and then start the way the person asked.
        state = _wait_for_closed(instance, client, operation.phone, budget_end)
    if state.status == SessionStatus.CLOSED:
        # The answer is the status *before* starting (contract §8.1); the wait below tells the rest.
        client.start_session(webhook=webhook_url(instance), phone=operation.phone or None)
    return _wait_for_user_answer(operation, instance, client, budget_end)


def _wait_for_closed(
    instance: Instance, client: GatewayClient, phone: str, budget_end: float
) -> SessionState:
    while True:
        state = observe(instance, client)
        if not other_method_waiting(state.status, phone):
            return state
        if time.monotonic() + POLL_SECONDS >= budget_end:
            raise WaitLonger()
        time.sleep(POLL_SECONDS)


def _wait_for_user_answer(
    operation: SessionOperation, instance: Instance, client: GatewayClient, budget_end: float
) -> dict[str, Any]:
    started_waiting = time.monotonic()
    init_timeout = conf.START_TIMEOUT
    seen_starting = False
    while True:
        state = observe(instance, client)
        instance.refresh_from_db()
        if state.status == SessionStatus.CONNECTED:
            return state_result(instance, state)
        if state.status == SessionStatus.QRCODE and instance.qr_code:
            return state_result(instance, state)
        if state.status == SessionStatus.PHONECODE and instance.pairing_code:
            return state_result(instance, state)
        if state.status in STARTING or state.status in WAITING_FOR_USER:
            seen_starting = True
        elif state.status == SessionStatus.CLOSED and seen_starting:
            raise OperationFailed("closed_during_start")
        waited = time.monotonic() - started_waiting
        if waited >= init_timeout or time.monotonic() >= budget_end:
            if state.status == SessionStatus.PHONECODE:
                raise OperationFailed("no_pairing_code", url=conf.PUBLIC_URL)
            if state.status == SessionStatus.CLOSED:
                raise OperationFailed("closed_during_start")
            raise OperationFailed("stuck_initializing", seconds=int(waited))
        time.sleep(POLL_SECONDS)


def close(operation: SessionOperation) -> dict[str, Any]:
    instance = operation.instance
    client = client_for(instance)
    state = observe(instance, client)
    if state.status in STARTING or state.status in WAITING_FOR_USER:
        # close-session now would leak the gateway's browser and block the next start (§5.6).
        raise OperationFailed("close_while_starting")
    if state.status == SessionStatus.CLOSED:
        # close-session on a never-started session answers a bare 500 (§5.6): say it plainly.
        raise OperationFailed("not_started")
    try:
        client.close()
    except GatewayError as exc:
        after = observe(instance, client, reason="close")
        if after.status != SessionStatus.CLOSED:
            raise OperationFailed("close_failed", detail=exc.message, status=after.status) from exc
    after = observe(instance, client, reason="close")
    return state_result(instance, after)


def logout(operation: SessionOperation) -> dict[str, Any]:
    instance = operation.instance
    client = client_for(instance)
    state = observe(instance, client)
    if not state.connected:
        raise OperationFailed("not_connected")
    client.logout()  # 404 Disconnected becomes NotConnected -> "not_connected" (§5.7)
    after = observe(instance, client, reason="logout")
    session_state.observe(
        instance,
        Observed(after.status, phone="", device={}, needs_scan=True, reason="logout"),
    )
    return state_result(instance, after)


def refresh(operation: SessionOperation) -> dict[str, Any]:
    instance = operation.instance
    client = client_for(instance)
    state = observe(instance, client)
    if state.connected:
        session_state.observe(instance, Observed(state.status, **_device_fields(client)))
    return state_result(instance, state)
