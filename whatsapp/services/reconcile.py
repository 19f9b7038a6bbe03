"""Reconcile: find out whether a send whose answer was lost reached the gateway.

Asked before any second send (design principle 4). The gateway's look-ups
(docs/gateway-lookups.md) are searched for a message from us to the recipient with the same text,
sent at or after the try started, and not already owned by another of our rows.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from django.utils import timezone

from whatsapp.gateway import GatewayClient, GatewayError, GatewayMessage, NotConnected
from whatsapp.models import OutboundMessage
from whatsapp.models.instance import SessionStatus
from whatsapp.models.message import MessageStatus
from whatsapp.services import session_state
from whatsapp.services.send import MAX_ATTEMPTS, _client, backoff
from whatsapp.services.session_state import Observed

logger = logging.getLogger(__name__)

# The gateway stamps messages with its own clock, in whole seconds.
CLOCK_SKEW = timedelta(seconds=5)
LOOKBACK = 50
RETRY_LOOKUP_AFTER = 10.0


def find_sent(
    client: GatewayClient, message: OutboundMessage, since: datetime
) -> GatewayMessage | None:
    if message.gateway_message_id:
        known = client.get_message(message.gateway_message_id)
        if known is not None:
            return known
    history = [
        m
        for m in client.recent_messages(message.recipient, count=LOOKBACK)
        if m.from_me
        and m.body.strip() == message.body.strip()
        and (m.timestamp is None or m.timestamp >= int(since.timestamp()))
    ]
    if not history:
        return None
    owned = set(
        OutboundMessage.objects.filter(
            instance_id=message.instance_id, gateway_message_id__in=[m.id for m in history]
        )
        .exclude(pk=message.pk)
        .values_list("gateway_message_id", flat=True)
    )
    free = [m for m in history if m.id not in owned]
    return free[0] if free else None


def reconcile(message_id: uuid.UUID) -> tuple[str, int | None]:
    """Returns (what happened, the instance id to ring when the message is queued again)."""
    message = (
        OutboundMessage.objects.select_related("instance")
        .filter(pk=message_id, status=MessageStatus.UNKNOWN)
        .first()
    )
    if message is None:
        return "nothing to reconcile", None
    attempt = message.attempt_log.order_by("-number").first()
    since = (attempt.started_at if attempt else message.created_at) - CLOCK_SKEW
    unknown = OutboundMessage.objects.filter(pk=message.pk, status=MessageStatus.UNKNOWN)
    now = timezone.now()
    try:
        found = find_sent(_client(message.instance), message, since)
    except GatewayError as exc:
        # We still cannot tell; the sweeper asks again once next_attempt_at passes.
        unknown.update(next_attempt_at=now + timedelta(seconds=RETRY_LOOKUP_AFTER), updated_at=now)
        if isinstance(exc, NotConnected):
            session_state.observe(
                message.instance_id, Observed(SessionStatus.CLOSED, reason="send")
            )
        return f"look-up failed: {exc.kind}", None
    if found is not None:
        sent_at = (
            datetime.fromtimestamp(found.timestamp, tz=timezone.get_current_timezone())
            if found.timestamp
            else now
        )
        unknown.update(
            status=MessageStatus.SENT,
            gateway_message_id=found.id,
            ack=found.ack,
            sent_at=sent_at,
            next_attempt_at=None,
            last_error="",
            updated_at=now,
        )
        return "found: sent", None
    if message.attempts >= MAX_ATTEMPTS:
        unknown.update(
            status=MessageStatus.FAILED, failed_at=now, next_attempt_at=None, updated_at=now
        )
        return "not found: failed, attempts used up", None
    # The gateway has no trace of it: sending again cannot make a duplicate.
    unknown.update(
        status=MessageStatus.QUEUED,
        next_attempt_at=now + timedelta(seconds=backoff(message.attempts)),
        dispatch_token=None,
        updated_at=now,
    )
    logger.info("Message %s was not received by the gateway; queued again.", message.pk)
    return "not found: queued again", message.instance_id
