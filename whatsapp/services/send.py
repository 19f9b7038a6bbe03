"""Send: claim a dispatched message, make one gateway call, record what it proves.

Outcomes follow contract §5.8 and design principle 4: only a failure that proves nothing reached
the gateway is retried; an answer lost after the request went out makes the message *unknown*,
and it is reconciled before any second send. The outcome is chosen from the error's type
(whatsapp/gateway/errors.py), never from its text.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from whatsapp.conf import conf
from whatsapp.crypto import SecretUnreadable
from whatsapp.gateway import GatewayError, NotConnected, ReadTimeout, SentMessage, UnknownNumber
from whatsapp.models import Instance, OutboundMessage
from whatsapp.models.instance import SessionStatus
from whatsapp.models.message import AttemptOutcome, MessageStatus
from whatsapp.services import dispatch, hot_move, outgoing, pacing, session_state, transitions
from whatsapp.services.gateway import send_client
from whatsapp.services.send_claim import Claimed, WaitsForQuote, claim, finish_update
from whatsapp.services.session_state import Observed

logger = logging.getLogger(__name__)

# The messages queue's hard time limit: no send call outlives its start by more than this.
SEND_HARD_LIMIT = timedelta(seconds=60)
MAX_ATTEMPTS = 8
BACKOFF_BASE = 2.0
NOT_CONNECTED_DELAY = 5.0
SECRET_UNREADABLE_DELAY = 60.0
# How long to let the gateway finish before looking for a send whose answer was lost: short after
# an error answer or a dropped connection, longer after a read timeout (it may still be working).
RECONCILE_DELAY = 1.0
RECONCILE_DELAY_AFTER_TIMEOUT = 15.0


def backoff(attempt: int) -> float:
    """Exponential with "equal jitter", never beyond Celery's longest safe countdown."""
    ceiling = min(float(conf.MAX_COUNTDOWN), BACKOFF_BASE * 2 ** max(0, attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


@dataclass
class SendOutcome:
    status: str
    instance_id: int
    reconcile_in: float | None = None
    refresh_instance: bool = False
    paced: bool = True
    # Paced: seconds until the instance may send again (its `next_send_at`, set with the outcome).
    next_gap: float | None = None
    # Unpaced: the instance's messages still dispatched or sending, when the outcome counted them.
    in_flight: int | None = None


# What a sent message no longer needs.
CLEARED_ON_SEND: dict[str, Any] = {
    "lease_expires_at": None,
    "next_attempt_at": None,
    "needs_review_since": None,
    "last_error": "",
}


def _sent_values(sent: SentMessage, now: datetime) -> dict[str, Any]:
    return {"gateway_message_id": sent.id, "ack": sent.ack, "sent_at": now}


def record_sent(message_id: uuid.UUID, sent: SentMessage, now: datetime) -> bool:
    # Also from unknown: the sweeper may have given up on this send a moment before it answered.
    # One source at a time: the usual case is one UPDATE on the hot path, no locking read.
    for source in (MessageStatus.SENDING, MessageStatus.UNKNOWN):
        if transitions.move(
            message_id,
            frm=source,
            to=MessageStatus.SENT,
            attempts=F("attempts") + 1,
            **_sent_values(sent, now),
            **CLEARED_ON_SEND,
        ):
            return True
    return False


def _succeed(claimed: Claimed, sent: SentMessage, *, count_in_flight: bool) -> int | None:
    """The attempt's end and sending → sent, in one statement on PostgreSQL; with
    `count_in_flight`, the instance's messages still in flight (for the refill) as well."""
    if connection.vendor != "postgresql":
        with transaction.atomic():
            claimed.finish(AttemptOutcome.SENT, http_status=201)
            record_sent(claimed.message.pk, sent, timezone.now())
        return None
    claimed.ended(AttemptOutcome.SENT, http_status=201)
    returning: tuple[str, list[Any]] = ("", [])
    if count_in_flight:
        # One count per status, each an index range of msg_dispatch_idx whatever the planner
        # knows of the table. The statement's snapshot still sees this message as sending:
        # hence the - 1.
        table = OutboundMessage._meta.db_table
        count = f"(SELECT count(*) FROM {table} WHERE instance_id = %s AND status = %s)"  # noqa: S608
        returning = (
            " + ".join(count for _ in dispatch.IN_FLIGHT) + " - 1",
            [v for status in dispatch.IN_FLIGHT for v in (claimed.message.instance_id, status)],
        )
    row = hot_move.move_in_one_call(
        claimed.message.pk,
        frm=MessageStatus.SENDING,
        to=MessageStatus.SENT,
        values={**_sent_values(sent, timezone.now()), **CLEARED_ON_SEND},
        increment=("attempts",),
        also=finish_update(claimed.attempt),
        returning=returning,
        # Safe because the claim before the call was committed durably: if a crash loses this
        # commit, the row is still `sending`, the sweeper makes it `unknown`, and
        # reconciliation finds the message on the gateway. It saves a disk flush per message.
        lazy=True,
    )
    if row is None:
        # The sweeper made it unknown a moment before the answer came: the general way.
        record_sent(claimed.message.pk, sent, timezone.now())
        return None
    return int(row[0]) if count_in_flight else None


def _retry_later(claimed: Claimed, reason: str, now: datetime) -> str:
    """Nothing reached the gateway: retry later, or fail once the attempts are used up."""
    attempts = claimed.message.attempts + 1
    if attempts >= MAX_ATTEMPTS:
        claimed.move(MessageStatus.FAILED, attempts=attempts, failed_at=now, last_error=reason)
        return MessageStatus.FAILED
    claimed.move(
        MessageStatus.QUEUED,
        attempts=attempts,
        next_attempt_at=now + timedelta(seconds=backoff(attempts)),
        dispatch_token=None,
        last_error=reason,
    )
    return MessageStatus.QUEUED


def _wait_for_session(claimed: Claimed, reason: str, delay: float) -> str:
    """Not a failed try: the message waits for the session; its attempt count stays."""
    claimed.move(
        MessageStatus.QUEUED,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        dispatch_token=None,
        last_error=reason,
    )
    return MessageStatus.QUEUED


def _fail(claimed: Claimed, reason: str) -> str:
    claimed.move(
        MessageStatus.FAILED,
        attempts=F("attempts") + 1,
        failed_at=timezone.now(),
        last_error=reason,
    )
    return MessageStatus.FAILED


def _mark_unknown(claimed: Claimed, reason: str, delay: float) -> str:
    claimed.move(
        MessageStatus.UNKNOWN,
        attempts=F("attempts") + 1,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        last_error=reason,
    )
    return MessageStatus.UNKNOWN


def _on_gateway_error(claimed: Claimed, exc: GatewayError, outcome: SendOutcome) -> None:
    if isinstance(exc, NotConnected):
        claimed.finish(AttemptOutcome.NOT_CONNECTED, exc.message, exc.http_status)
        outcome.status = _wait_for_session(
            claimed,
            _("The WhatsApp session is not connected; waiting for it."),
            NOT_CONNECTED_DELAY,
        )
        # Stop dispatching until the health check confirms the session's state.
        session_state.observe(
            claimed.message.instance, Observed(SessionStatus.CLOSED, reason="send")
        )
        outcome.refresh_instance = True
    elif isinstance(exc, UnknownNumber):
        reason = _("number is not on WhatsApp")
        claimed.finish(AttemptOutcome.UNKNOWN_NUMBER, reason, exc.http_status)
        outcome.status = _fail(claimed, reason)
    elif exc.delivered == "no" and exc.permanent:
        claimed.finish(AttemptOutcome.REJECTED, exc.message, exc.http_status)
        outcome.status = _fail(claimed, exc.message)
    elif exc.delivered == "no":
        claimed.finish(AttemptOutcome.UNREACHABLE, exc.message, exc.http_status)
        outcome.status = _retry_later(claimed, exc.message, timezone.now())
    else:
        # A read timeout may still be working on the gateway: give it longer.
        delay = RECONCILE_DELAY_AFTER_TIMEOUT if isinstance(exc, ReadTimeout) else RECONCILE_DELAY
        claimed.finish(AttemptOutcome.UNKNOWN, exc.message, exc.http_status)
        outcome.status = _mark_unknown(claimed, exc.message, delay)
        outcome.reconcile_in = delay


def _wait_for_quote(message_id: uuid.UUID, token: uuid.UUID) -> SendOutcome | None:
    """Back to the queue, untried, until the message this replies to is sent."""
    moved = transitions.move(
        message_id,
        frm=MessageStatus.DISPATCHED,
        to=MessageStatus.QUEUED,
        token=token,
        dispatch_token=None,
        lease_expires_at=None,
        next_attempt_at=timezone.now() + timedelta(seconds=outgoing.REPLY_WAIT_SECONDS),
        last_error=_("Waiting until the message it replies to is sent."),
    )
    if not moved:
        return None
    instance_id = OutboundMessage.objects.values_list("instance_id", flat=True).get(pk=message_id)
    return SendOutcome(MessageStatus.QUEUED, instance_id, paced=False)


def _on_failure(claimed: Claimed, exc: Exception, outcome: SendOutcome) -> None:
    if isinstance(exc, GatewayError):
        _on_gateway_error(claimed, exc, outcome)
    elif isinstance(exc, outgoing.Unsendable):
        claimed.finish(AttemptOutcome.REJECTED, str(exc))
        outcome.status = _fail(claimed, str(exc))
    elif isinstance(exc, SecretUnreadable):
        reason = _("The gateway secret cannot be decrypted; enter it again in the settings.")
        claimed.finish(AttemptOutcome.NOT_CONNECTED, reason)
        outcome.status = _wait_for_session(claimed, reason, SECRET_UNREADABLE_DELAY)
    else:  # e.g. the soft time limit mid-request: it may have gone out
        claimed.finish(AttemptOutcome.UNKNOWN, type(exc).__name__)
        outcome.status = _mark_unknown(
            claimed, _("The send was interrupted."), RECONCILE_DELAY_AFTER_TIMEOUT
        )
        outcome.reconcile_in = RECONCILE_DELAY_AFTER_TIMEOUT


def send(message_id: uuid.UUID, token: uuid.UUID) -> SendOutcome | None:
    """Claim, call the gateway once, record the outcome. None when the claim failed."""
    claimed = claim(message_id, token, timezone.now())
    if isinstance(claimed, WaitsForQuote):
        return _wait_for_quote(message_id, token)
    if claimed is None:
        return None
    message = claimed.message
    instance = message.instance
    outcome = SendOutcome(MessageStatus.SENDING, instance.pk, paced=pacing.is_paced(instance))
    claimed.started = time.monotonic()
    sent: SentMessage | None = None
    failure: Exception | None = None
    try:
        sent = outgoing.deliver(send_client(instance), message, outgoing.budget_of(message))
    except Exception as exc:
        if not isinstance(exc, GatewayError | outgoing.Unsendable | SecretUnreadable):
            logger.exception("Unexpected error while sending message %s", message.pk)
        failure = exc
    if sent is not None and not outcome.paced:
        # Unpaced, a success writes the attempt and the message alone: one call, which is also
        # its own transaction where no listener writes rows for it (services/hot_move.py).
        outcome.in_flight = _succeed(claimed, sent, count_in_flight=True)
        outcome.status = MessageStatus.SENT
        return outcome
    # The outcome and the next gap commit together: a dispatcher that sees this send finished
    # also sees when the next may start. Set after the commit, a send that outlasted the gap
    # (a large file's, a slow gateway's) let another start at once, in the moment between.
    with transaction.atomic():
        if sent is not None:
            _succeed(claimed, sent, count_in_flight=False)
            outcome.status = MessageStatus.SENT
        else:
            assert failure is not None
            _on_failure(claimed, failure, outcome)
        if outcome.paced:
            # The gap runs from the end of this send, so two sends are never closer than it.
            outcome.next_gap = pacing.next_gap(instance)
            Instance.objects.filter(pk=instance.pk).update(
                next_send_at=timezone.now() + timedelta(seconds=outcome.next_gap)
            )
    return outcome
