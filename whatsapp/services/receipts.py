"""Delivery receipts: `onack` webhooks move a sent message forward, never backwards.

An ack of -1 is WhatsApp refusing a message the gateway had accepted (in 2026, many first
messages to new contacts): the message fails with that reason.

An ack only moves a message forward, so acks need no order and no lock on the instance: the
conditional update on the message row (its current status must be an earlier one) is enough,
and acks of one instance are applied in parallel.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from whatsapp.gateway.parse import ack_level, wid_to_str
from whatsapp.metrics import hooks
from whatsapp.models import Instance, OutboundMessage
from whatsapp.models.message import MessageStatus
from whatsapp.services import transitions

# WhatsApp ack levels (contract §5.8): 1 sent, 2 delivered, 3 read, 4 played.
ACK_STATUS = {2: MessageStatus.DELIVERED, 3: MessageStatus.READ, 4: MessageStatus.READ}
REFUSED_ACK = -1
# Where each receipt may find a message. A receipt can overtake the worker's own record of the
# send (sending) or the reconcile of an ambiguous one (unknown).
BEFORE = {
    MessageStatus.DELIVERED: [
        MessageStatus.SENT,
        MessageStatus.UNDELIVERED,
        MessageStatus.UNKNOWN,
        MessageStatus.SENDING,
    ],
    MessageStatus.READ: [
        MessageStatus.SENT,
        MessageStatus.UNDELIVERED,
        MessageStatus.DELIVERED,
        MessageStatus.UNKNOWN,
        MessageStatus.SENDING,
    ],
    MessageStatus.FAILED: [
        MessageStatus.SENT,
        MessageStatus.UNDELIVERED,
        MessageStatus.UNKNOWN,
        MessageStatus.SENDING,
    ],
}


def refused_reason() -> str:
    return _("WhatsApp did not accept the message")


def _refuse(instance: Instance, matched: Q) -> str:
    moved = transitions.move_many(
        matched,
        frm=BEFORE[MessageStatus.FAILED],
        to=MessageStatus.FAILED,
        skip_locked=False,
        ack=REFUSED_ACK,
        failed_at=timezone.now(),
        last_error=refused_reason(),
        needs_review_since=None,
        lease_expires_at=None,
        next_attempt_at=None,
    )
    return f"ack -1: {'failed' if moved else 'too late, already delivered or done'}"


def apply_ack(instance: Instance, payload: dict[str, Any]) -> str:
    gateway_id = wid_to_str(payload.get("id"))
    ack = ack_level(payload.get("ack"))
    if not gateway_id or ack is None:
        return "onack without id or ack"
    status = ACK_STATUS.get(ack)
    if status is None and ack != REFUSED_ACK:
        return f"ack {ack}: nothing to record"
    matched = Q(instance=instance, gateway_message_id=gateway_id)
    if not OutboundMessage.objects.filter(matched).exists():
        return "ack for an unknown message: ignored"
    if status is None:
        return _refuse(instance, matched)
    now = timezone.now()
    stamp = {"delivered_at": now} if status == MessageStatus.DELIVERED else {"read_at": now}
    moved = transitions.move_many(
        matched,
        frm=BEFORE[status],
        to=status,
        skip_locked=False,
        ack=ack,
        needs_review_since=None,
        lease_expires_at=None,
        **stamp,
    )
    if moved:
        sent = OutboundMessage.objects.filter(pk__in=moved, sent_at__isnull=False)
        times = sent.values_list("sent_at", flat=True)
        delays = [(now - at).total_seconds() for at in times if at is not None]
        hooks.acks(instance.slug, status, delays)
    # A read receipt also proves delivery; keep the delivered time when it never came.
    if status == MessageStatus.READ and moved:
        OutboundMessage.objects.filter(pk__in=moved, delivered_at__isnull=True).update(
            delivered_at=now
        )
    return f"ack {ack}: {'applied' if moved else 'older than the current status'}"
