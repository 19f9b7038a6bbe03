"""Events back to the application: each change becomes delivery rows and a Django signal.

Hooked into the writers of state, inside their transactions: a message's status
(`transitions.on_change`), a received message (`inbound.on_received`, or
`inbound_media.on_finished` once its file is stored or given up) and a session's status
(`session_state.on_change`). So a delivery row exists exactly when the change committed, and
its doorbell (and the signal, `whatsapp.signals`) goes out after the commit.

Every event has one shape (docs/events.md):

    {"id": "evt_…", "type": "message.status", "created_at": "…", "instance": "main", "data": {…}}
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from typing import Any
from uuid import UUID

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from whatsapp import doorbell, signals
from whatsapp.models import (
    InboundMessage,
    Instance,
    OutboundMessage,
    WebhookDelivery,
    WebhookEndpoint,
)
from whatsapp.models.instance import SessionStatus
from whatsapp.models.message import MessageStatus
from whatsapp.models.webhook import EventType
from whatsapp.services import inbound, inbound_media, session_state, transitions
from whatsapp.services.inbound_json import inbound_json
from whatsapp.services.message_json import message_json

logger = logging.getLogger(__name__)

# The statuses an application hears about: where a message ended up, not the steps of sending.
PUBLIC_STATUSES = frozenset(
    {
        MessageStatus.SENT,
        MessageStatus.DELIVERED,
        MessageStatus.READ,
        MessageStatus.FAILED,
        MessageStatus.EXPIRED,
        MessageStatus.CANCELLED,
        "undelivered",
    }
)
SESSION_EVENT_STATUSES = ("connected", "disconnected", "needs_scan", "logged_out", "closed")


def new_event_id() -> str:
    return f"evt_{uuid.uuid4().hex}"


def event_body(event_id: str, event_type: str, instance_slug: str | None, data: Any) -> str:
    """The event as sent and signed. ASCII-only JSON: any text (lone surrogates too) survives
    the database and the wire unchanged."""
    event = {
        "id": event_id,
        "type": event_type,
        "created_at": timezone.now().isoformat(),
        "instance": instance_slug,
        "data": data,
    }
    return json.dumps(event, ensure_ascii=True, separators=(",", ":"))


def endpoints_for(event_type: str, instance_id: int | None) -> list[WebhookEndpoint]:
    rows = WebhookEndpoint.objects.filter(enabled=True)
    return [row for row in rows if row.wants(event_type, instance_id)]


def emit(
    event_type: str,
    *,
    instance: Instance | None,
    data: Any,
    endpoints: list[WebhookEndpoint],
    message_id: UUID | None = None,
) -> list[WebhookDelivery]:
    """One delivery row per endpoint, rung after the commit. Call inside the change's
    transaction; `endpoints` are those that want the event (`endpoints_for`)."""
    if not endpoints:
        return []
    event_id = new_event_id()
    body = event_body(event_id, event_type, instance.slug if instance else None, data)
    rows = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            endpoint=endpoint,
            instance=instance,
            event_id=event_id,
            event_type=event_type,
            body=body,
            message_id=message_id,
        )
        for endpoint in endpoints
    )
    for row in rows:
        if _first_rings(row.endpoint_id):
            doorbell.ring(doorbell.DELIVER_WEBHOOK, str(row.pk))
    return rows


# Doorbells per endpoint and transaction: a bulk change (an expiry of thousands of messages)
# rings a few tasks, each of which goes on with the endpoint's other due rows
# (webhook_delivery.drain), instead of one task per event.
RINGS_PER_TRANSACTION = 8
_local = threading.local()


class _Batch:
    def __init__(self) -> None:
        self.counts: dict[Any, int] = {}

    def marker(self) -> None:
        """Registered with on_commit only so the batch can tell whether its transaction is
        still open (a rolled back or committed one has dropped it)."""


def _first_rings(endpoint_id: Any) -> bool:
    connection = transaction.get_connection()
    batch: _Batch | None = getattr(_local, "batch", None)
    # Django's list of this transaction's callbacks; without it (another Django), every event
    # rings its own doorbell, which is only slower.
    pending = getattr(connection, "run_on_commit", None)
    if pending is None:
        return True
    current = batch is not None and any(entry[1] == batch.marker for entry in pending)
    if batch is None or not current:
        batch = _Batch()
        _local.batch = batch
        if connection.in_atomic_block:
            transaction.on_commit(batch.marker)
    count = batch.counts.get(endpoint_id, 0)
    batch.counts[endpoint_id] = count + 1
    return count < RINGS_PER_TRANSACTION


def send_on_commit(signal: Signal, sender: type, **kwargs: Any) -> None:
    """Send `signal` after the commit; a receiver that raises is logged, the others still run."""

    def send() -> None:
        for receiver, result in signal.send_robust(sender, **kwargs):
            if isinstance(result, Exception):
                logger.error(
                    "a receiver of a whatsapp signal failed: %r",
                    receiver,
                    exc_info=(type(result), result, result.__traceback__),
                )

    if signal.has_listeners(sender):
        transaction.on_commit(send)


@transitions.on_change
def message_changed(message_id: UUID, old: str, new: str, hint: bool | None = None) -> None:
    """`hint`: whether any endpoint was enabled, asked inside the change's own statement."""
    send_on_commit(
        signals.message_status_changed,
        OutboundMessage,
        message_id=message_id,
        old_status=old,
        new_status=new,
    )
    if new not in PUBLIC_STATUSES or hint is False:
        return
    # The endpoints first (a small table): with none wanting the event, the send path pays
    # no second read of the message's row.
    wanting = [
        row
        for row in WebhookEndpoint.objects.filter(enabled=True)
        if not row.event_types or EventType.MESSAGE_STATUS in row.event_types
    ]
    if not wanting:
        return
    message = OutboundMessage.objects.select_related("instance", "media").get(pk=message_id)
    endpoints = [row for row in wanting if row.wants(EventType.MESSAGE_STATUS, message.instance_id)]
    if endpoints:
        emit(
            EventType.MESSAGE_STATUS,
            instance=message.instance,
            data=message_json(message),
            endpoints=endpoints,
            message_id=message_id,
        )


# Its signal is sent after the commit, its event row written only for a public status.
transitions.writes_only_for(message_changed, PUBLIC_STATUSES)
transitions.writes_only_if(
    message_changed,
    f"EXISTS (SELECT 1 FROM {WebhookEndpoint._meta.db_table} WHERE enabled)",  # noqa: S608
)


@inbound.on_received
def message_received(row: InboundMessage) -> None:
    # A message with a file is announced once the file is stored or given up
    # (`file_finished`), so the event carries the file's id, size and URL.
    if inbound_media.describe(row) is None:
        announce_received(row)


@inbound_media.on_finished
def file_finished(inbound_id: int, state: str) -> None:
    row = InboundMessage.objects.select_related("instance").filter(pk=inbound_id).first()
    if row is not None:
        announce_received(row)


def announce_received(row: InboundMessage) -> None:
    send_on_commit(
        signals.message_received, InboundMessage, inbound_id=row.pk, instance_id=row.instance_id
    )
    endpoints = endpoints_for(EventType.MESSAGE_RECEIVED, row.instance_id)
    if endpoints:
        emit(
            EventType.MESSAGE_RECEIVED,
            instance=row.instance,
            data=inbound_json(row),
            endpoints=endpoints,
        )


def session_event_status(status: str, reason: str, was_connected: bool) -> str | None:
    """What a session status means to an application, or None when it is a step of no interest
    (starting, an unknown state of a session that was not connected)."""
    if status == SessionStatus.CONNECTED:
        return "connected"
    if status in (SessionStatus.QRCODE, SessionStatus.PHONECODE):
        return "needs_scan"
    if status == SessionStatus.CLOSED:
        return "logged_out" if reason == "logout" else "closed"
    return "disconnected" if was_connected else None


@session_state.on_change
def session_changed(change: session_state.Change) -> None:
    status = session_event_status(change.new_status, change.reason, change.was_connected)
    send_on_commit(
        signals.session_status_changed,
        Instance,
        instance_id=change.instance_id,
        old_status=change.old_status,
        new_status=change.new_status,
        status=status,
        reason=change.reason,
    )
    if status is None:
        return
    endpoints = endpoints_for(EventType.SESSION_STATUS, change.instance_id)
    if not endpoints:
        return
    instance = Instance.objects.get(pk=change.instance_id)
    data = {
        "status": status,
        "gateway_status": change.new_status,
        "previous_gateway_status": change.old_status,
        "reason": change.reason,
        "at": change.at.isoformat(),
    }
    emit(EventType.SESSION_STATUS, instance=instance, data=data, endpoints=endpoints)


def send_test_event(endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A `webhook.test` event for this endpoint alone, whatever events it wants."""
    data = {"endpoint": str(endpoint.pk), "message": "A test event from leguas-whatsapp."}
    with transaction.atomic():
        instance = endpoint.instance
        return emit(EventType.WEBHOOK_TEST, instance=instance, data=data, endpoints=[endpoint])[0]
