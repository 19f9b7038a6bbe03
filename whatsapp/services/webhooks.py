"""The gateway's webhooks: stored as received (the view), applied here (a task)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from whatsapp.models import GatewayEvent, InboundMessage, Instance
from whatsapp.models.instance import SessionStatus
from whatsapp.services import receipts

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
    from whatsapp.tasks.events import apply_event

    event_name = str(payload.get("event") or "")[:40]
    try:
        with transaction.atomic():
            event = GatewayEvent.objects.create(
                instance=instance,
                event=event_name,
                payload=payload,
                dedupe_key=dedupe_key(event_name, payload),
            )
            apply_event.delay_on_commit(event.pk)
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


def ring_dispatcher_on_commit(instance_id: int) -> None:
    """A number that just connected may have messages waiting: send them now, not at beat."""
    from whatsapp.tasks.messages import dispatch_messages

    def ring() -> None:
        try:
            dispatch_messages.delay(instance_id)
        except Exception:  # the beat dispatcher is the backstop
            logger.warning("could not ring the dispatcher for instance %s", instance_id)

    transaction.on_commit(ring)


def _apply(instance: Instance, name: str, payload: dict[str, Any]) -> str:
    now = timezone.now()
    updates: dict[str, Any] = {}
    if name == "status-find":
        state = str(payload.get("status") or "")
        if state in CONNECTED_STATES:
            updates = {
                "status": SessionStatus.CONNECTED,
                "connected": True,
                "qr_code": "",
                "pairing_code": "",
                "needs_scan": False,
                "last_error": "",
            }
            if not instance.connected:
                updates["connected_since"] = now
                ring_dispatcher_on_commit(instance.pk)
        elif state in CLOSED_STATES:
            updates = {
                "status": SessionStatus.CLOSED,
                "connected": False,
                "qr_code": "",
                "pairing_code": "",
                "connected_since": None,
            }
            if state == "disconnectedMobile":
                updates.update(phone="", device={}, last_error="disconnected from the phone")
        elif state in {"qrReadFail", "qrReadError"}:
            updates = {"last_error": f"QR code not accepted ({state})"}
        else:
            return f"status {state}: noted"
    elif name == "qrcode":
        code = str(payload.get("qrcode") or "")
        if not code:
            return "qrcode without image"
        if not code.startswith("data:"):
            code = f"data:image/png;base64,{code}"  # the webhook omits the prefix (contract §6)
        updates = {
            "status": SessionStatus.QRCODE,
            "connected": False,
            "qr_code": code,
            "pairing_code": "",
            "code_produced_at": now,
        }
    elif name == "phoneCode":
        updates = {
            "status": SessionStatus.PHONECODE,
            "connected": False,
            "qr_code": "",
            "pairing_code": str(payload.get("phoneCode") or "")[:32],
            "code_produced_at": now,
        }
    elif name in {"closesession", "logoutsession"}:
        updates = {
            "status": SessionStatus.CLOSED,
            "connected": False,
            "qr_code": "",
            "pairing_code": "",
            "connected_since": None,
        }
        if name == "logoutsession":
            updates.update(phone="", device={}, needs_scan=True)
    elif name == "onack":
        return receipts.apply_ack(instance, payload)
    elif name == "onmessage":
        return _store_inbound(instance, payload)
    else:
        return "ignored"
    if "status" in updates and updates["status"] != instance.status:
        updates["status_changed_at"] = now
    updates["checked_at"] = now
    Instance.objects.filter(pk=instance.pk).update(**updates)
    return f"{name}: applied"


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
