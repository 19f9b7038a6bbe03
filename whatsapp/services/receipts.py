"""Delivery receipts: `onack` webhooks move a sent message forward, never backwards."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils import timezone

from whatsapp.models import Instance, OutboundMessage
from whatsapp.models.message import MessageStatus

# WhatsApp ack levels (contract §5.8): 1 sent, 2 delivered, 3 read, 4 played.
ACK_STATUS = {2: MessageStatus.DELIVERED, 3: MessageStatus.READ, 4: MessageStatus.READ}
BEFORE = {
    MessageStatus.DELIVERED: [MessageStatus.SENT, MessageStatus.UNKNOWN, MessageStatus.SENDING],
    MessageStatus.READ: [
        MessageStatus.SENT,
        MessageStatus.DELIVERED,
        MessageStatus.UNKNOWN,
        MessageStatus.SENDING,
    ],
}


def apply_ack(instance: Instance, payload: dict[str, Any]) -> str:
    ident = payload.get("id")
    gateway_id = ident.get("_serialized") if isinstance(ident, dict) else ident
    ack = payload.get("ack")
    if not gateway_id or not isinstance(ack, int):
        return "onack without id or ack"
    status = ACK_STATUS.get(ack)
    if status is None:
        return f"ack {ack}: nothing to record"
    now = timezone.now()
    stamp = {"delivered_at": now} if status == MessageStatus.DELIVERED else {"read_at": now}
    matched = OutboundMessage.objects.filter(instance=instance, gateway_message_id=gateway_id)
    if not matched.exists():
        return "ack for an unknown message: ignored"
    updated = matched.filter(status__in=BEFORE[status]).update(
        status=status, ack=ack, updated_at=now, **stamp
    )
    # A read receipt also proves delivery; keep the delivered time when it never came.
    if status == MessageStatus.READ:
        matched.filter(Q(delivered_at__isnull=True)).update(delivered_at=now)
    return f"ack {ack}: {'applied' if updated else 'older than the current status'}"
