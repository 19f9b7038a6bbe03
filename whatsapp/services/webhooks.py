"""The gateway's webhooks: stored as received (the view), applied here (a task)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from whatsapp import doorbell
from whatsapp.models import GatewayEvent, InboundMessage, Instance
from whatsapp.models.instance import SessionStatus
from whatsapp.services import receipts, session_state
from whatsapp.services.session_state import Observed

logger = logging.getLogger(__name__)

# Library states (contract §4.2) that mean the browser or the login is gone.
CLOSED_STATES = {"browserClose", "autocloseCalled", "serverClose", "disconnectedMobile"}
CONNECTED_STATES = {"inChat", "isLogged"}


def dedupe_key(event: str, payload: dict[str, Any]) -> str | None:
    ident = payload.get("id")
    if isinstance(ident, dict):  # onack carries an object id (contract §8.18)
        ident = ident.get("_serialized")
    if event == "onack" and ident:
        return f"onack:{ident}:{payload.get('ack')}"
    if event == "onmessage" and ident:
        return f"onmessage:{ident}"
    return None


def store(instance: Instance, payload: dict[str, Any]) -> GatewayEvent | None:
    """Store one webhook call; None when it repeats one already stored."""
    event_name = str(payload.get("event") or "")[:40]
    try:
        with transaction.atomic():
            event = GatewayEvent.objects.create(
                instance=instance,
                event=event_name,
                payload=payload,
                dedupe_key=dedupe_key(event_name, payload),
            )
            doorbell.ring(doorbell.APPLY_EVENT, event.pk)
    except IntegrityError:
        return None
    return event


def apply(event_id: int) -> None:
    """Apply this event and any earlier unapplied one of its instance, in the order received.

    Workers take events in any order; applying a late `qrcode` after `inChat` would show a
    connected session as waiting for a scan. Locking the instance row serialises the appliers.
    """
    instance_id = (
        GatewayEvent.objects.filter(pk=event_id).values_list("instance_id", flat=True).first()
    )
    if instance_id is None:
        return
    with transaction.atomic():
        Instance.objects.select_for_update().filter(pk=instance_id).exists()
        pending = GatewayEvent.objects.filter(
            instance_id=instance_id, processed_at__isnull=True, pk__lte=event_id
        ).order_by("pk")
        for event in pending:
            instance = Instance.objects.get(pk=instance_id)
            outcome = _apply(instance, event.event, event.payload)
            event.processed_at = timezone.now()
            event.outcome = outcome[:200]
            event.save(update_fields=["processed_at", "outcome"])


def _apply(instance: Instance, name: str, payload: dict[str, Any]) -> str:
    if name == "onack":
        return receipts.apply_ack(instance, payload)
    if name == "onmessage":
        return _store_inbound(instance, payload)
    state = str(payload.get("status") or "")
    if name == "status-find" and state in {"qrReadFail", "qrReadError"}:
        session_state.note_error(instance, f"QR code not accepted ({state})")
        return f"status {state}: QR code not accepted"
    observed = _observed(name, payload)
    if isinstance(observed, str):
        return observed
    session_state.observe(instance, observed)
    return f"{name}: applied"


def _observed(name: str, payload: dict[str, Any]) -> Observed | str:
    """What a session event says about the session, or why it says nothing."""
    if name == "status-find":
        state = str(payload.get("status") or "")
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
        code = str(payload.get("qrcode") or "")
        if not code:
            return "qrcode without image"
        if not code.startswith("data:"):
            code = f"data:image/png;base64,{code}"  # the webhook omits the prefix (contract §6)
        return Observed(SessionStatus.QRCODE, qr_code=code)
    if name == "phoneCode":
        code = str(payload.get("phoneCode") or "")[:32]
        return Observed(SessionStatus.PHONECODE, pairing_code=code)
    if name == "closesession":
        return Observed(SessionStatus.CLOSED, reason="close")
    if name == "logoutsession":
        return Observed(SessionStatus.CLOSED, phone="", device={}, needs_scan=True, reason="logout")
    return "ignored"


def _store_inbound(instance: Instance, payload: dict[str, Any]) -> str:
    gateway_id = str(payload.get("id") or "")
    if not gateway_id:
        return "onmessage without id"
    timestamp = payload.get("t")
    sent_at = None
    if isinstance(timestamp, int | float):
        sent_at = datetime.fromtimestamp(timestamp, tz=UTC)
    _message, created = InboundMessage.objects.get_or_create(
        instance=instance,
        gateway_id=gateway_id[:200],
        defaults={
            "sender": str(payload.get("from") or "").split("@")[0][:64],
            "body": str(payload.get("body") or "") if payload.get("type") == "chat" else "",
            "type": str(payload.get("type") or "")[:30],
            "sent_at": sent_at,
        },
    )
    return "inbound stored" if created else "inbound duplicate"
