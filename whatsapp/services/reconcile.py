"""Reconcile: find out whether a send whose answer was lost reached the gateway.

Asked before any second send (design principle 4). The gateway's look-ups
(docs/gateway-lookups.md) are searched for a message from us to the recipient with the same
content (the text; for a file its type and caption or file name; a location's coordinates; a
contact's name), sent at or after the try started, and not already owned by another of our rows.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from django.utils import timezone

from whatsapp import doorbell, liveness
from whatsapp.gateway import GatewayClient, GatewayError, GatewayMessage, NotConnected
from whatsapp.gateway.values import moment
from whatsapp.models import MessageAttempt, OutboundMessage
from whatsapp.models.instance import SessionStatus
from whatsapp.models.message import AttemptOutcome, MessageKind, MessageStatus
from whatsapp.services import outgoing, session_state, transitions
from whatsapp.services.gateway import send_client
from whatsapp.services.send import MAX_ATTEMPTS, SEND_HARD_LIMIT, backoff
from whatsapp.services.session_state import Observed

logger = logging.getLogger(__name__)

# The gateway stamps messages with its own clock, in whole seconds.
CLOCK_SKEW = timedelta(seconds=5)
LOOKBACK = 50
RETRY_LOOKUP_AFTER = 10.0
# After a person was asked to look, the gateway is still asked, less often.
RETRY_LOOKUP_AFTER_REVIEW = 60.0


def lost_call_may_run(
    attempt: MessageAttempt | None, now: datetime, hard_limit: timedelta = SEND_HARD_LIMIT
) -> datetime | None:
    """For a try declared lost whose call could still be running: when to look again.

    A try is `lost` when its worker was found gone (no heartbeat) or its lease ran out. Before
    its time limit has surely ended the call, "not found" may only mean "not yet": so look
    again once a heartbeat would have come back (a flushed cache), and should the worker be
    beating again, once the time limit is past.
    """
    if attempt is None or attempt.outcome != AttemptOutcome.LOST:
        return None
    surely_over = attempt.started_at + hard_limit
    if now >= surely_over:
        return None
    recheck = (attempt.finished_at or now) + timedelta(seconds=liveness.TTL_SECONDS + 1)
    if now < recheck:
        return recheck
    living = liveness.alive([attempt.worker])
    if living is None or attempt.worker in living:
        return surely_over
    return None


# WhatsApp's type of each of ours (companion contract §7.2).
GATEWAY_TYPES: dict[str, set[str]] = {
    MessageKind.TEXT: {"chat"},
    MessageKind.IMAGE: {"image"},
    MessageKind.VIDEO: {"video"},
    MessageKind.AUDIO: {"audio", "ptt"},
    MessageKind.VOICE: {"ptt", "audio"},
    MessageKind.DOCUMENT: {"document"},
    MessageKind.LOCATION: {"location"},
    MessageKind.CONTACT: {"vcard"},
}


def _close(a: float | None, b: object) -> bool:
    return a is not None and isinstance(b, int | float) and abs(a - float(b)) < 1e-5


def same_content(found: GatewayMessage, message: OutboundMessage) -> bool:
    """Whether a message in the chat is this one, as far as its content can tell."""
    kind = message.kind
    if kind == MessageKind.TEXT:
        return found.body.strip() == message.body.strip()
    if found.type and found.type not in GATEWAY_TYPES.get(kind, set()):
        return False
    data = message.content or {}
    if kind == MessageKind.LOCATION:
        return _close(found.latitude, data.get("latitude")) and _close(
            found.longitude, data.get("longitude")
        )
    if kind == MessageKind.CONTACT:
        return not found.contact_name or found.contact_name == data.get("name")
    if message.body:
        return found.caption.strip() == message.body.strip()
    if kind == MessageKind.DOCUMENT and found.filename and message.filename:
        return found.filename == message.filename
    # Without a caption or a name, the type and the time are all there is to go by.
    return bool(found.type)


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
        and same_content(m, message)
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
        OutboundMessage.objects.select_related("instance", "media")
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
        found = find_sent(send_client(message.instance), message, since)
    except GatewayError as exc:
        # We still cannot tell; the sweeper asks again once next_attempt_at passes.
        wait = RETRY_LOOKUP_AFTER_REVIEW if message.needs_review_since else RETRY_LOOKUP_AFTER
        unknown.update(next_attempt_at=now + timedelta(seconds=wait), updated_at=now)
        if isinstance(exc, NotConnected):
            session_state.observe(
                message.instance_id, Observed(SessionStatus.CLOSED, reason="send")
            )
        return f"look-up failed: {exc.kind}", None
    if found is not None:
        transitions.move(
            message.pk,
            frm=MessageStatus.UNKNOWN,
            to=MessageStatus.SENT,
            gateway_message_id=found.id,
            ack=found.ack,
            sent_at=moment(found.timestamp) or now,
            next_attempt_at=None,
            needs_review_since=None,
            last_error="",
        )
        return "found: sent", None
    hard = timedelta(seconds=outgoing.budget_of(message).hard_limit)
    again = lost_call_may_run(attempt, now, max(SEND_HARD_LIMIT, hard))
    if again is not None:
        unknown.update(next_attempt_at=again, updated_at=now)
        countdown = (again - now).total_seconds()
        doorbell.publish(doorbell.RECONCILE, (str(message.pk),), countdown=countdown)
        return "not found yet: the lost try may still be running", None
    if message.attempts >= MAX_ATTEMPTS:
        transitions.move(
            message.pk,
            frm=MessageStatus.UNKNOWN,
            to=MessageStatus.FAILED,
            failed_at=now,
            next_attempt_at=None,
            needs_review_since=None,
        )
        return "not found: failed, attempts used up", None
    # The gateway has no trace of it: sending again cannot make a duplicate.
    transitions.move(
        message.pk,
        frm=MessageStatus.UNKNOWN,
        to=MessageStatus.QUEUED,
        next_attempt_at=now + timedelta(seconds=backoff(message.attempts)),
        dispatch_token=None,
        needs_review_since=None,
    )
    logger.info("Message %s was not received by the gateway; queued again.", message.pk)
    return "not found: queued again", message.instance_id
