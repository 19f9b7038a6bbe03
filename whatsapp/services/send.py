"""Send: claim a dispatched message, make one gateway call, record what it proves.

Outcomes follow contract §5.8 and design principle 4: only a failure that proves nothing reached
the gateway is retried; an answer lost after the request went out makes the message *unknown*,
and it is reconciled before any second send.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from whatsapp.conf import conf
from whatsapp.crypto import SecretUnreadable
from whatsapp.gateway import (
    GatewayClient,
    GatewayError,
    NotConnected,
    ReadTimeout,
    SentMessage,
    Timeouts,
    UnknownNumber,
)
from whatsapp.models import Instance, MessageAttempt, OutboundMessage
from whatsapp.models.instance import SessionStatus
from whatsapp.models.message import MessageStatus
from whatsapp.services import pacing, session_state
from whatsapp.services.gateway import default_timeouts
from whatsapp.services.session_state import Observed

logger = logging.getLogger(__name__)

# Above the messages queue's 60 s hard time limit: past it, the send task is surely dead.
SEND_LEASE = timedelta(seconds=90)
# Reads end well inside the queue's 50 s soft limit, so a slow gateway is an answer, not a kill.
SEND_READ_TIMEOUT = 40.0
MAX_ATTEMPTS = 8
BACKOFF_BASE = 2.0
NOT_CONNECTED_DELAY = 5.0
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


_http_sessions: dict[str, object] = {}


def _client(instance: Instance) -> GatewayClient:
    import requests

    # One keep-alive session per gateway per process: a TCP handshake per send halves throughput.
    http = _http_sessions.get(instance.gateway_url)
    if not isinstance(http, requests.Session):
        http = requests.Session()
        _http_sessions[instance.gateway_url] = http
    base = default_timeouts()
    timeouts = Timeouts(
        connect=base.connect, read=min(base.read, SEND_READ_TIMEOUT), session=base.session
    )
    return GatewayClient(
        instance.gateway_url,
        instance.session_name,
        instance.secret_key,
        timeouts=timeouts,
        http=http,
    )


def claim(
    message_id: uuid.UUID, token: uuid.UUID, now: datetime
) -> tuple[OutboundMessage, MessageAttempt] | None:
    """dispatched + this token → sending, or None: another delivery of the task got it first."""
    with transaction.atomic():
        claimed = OutboundMessage.objects.filter(
            pk=message_id, status=MessageStatus.DISPATCHED, dispatch_token=token
        ).update(status=MessageStatus.SENDING, lease_expires_at=now + SEND_LEASE, updated_at=now)
        if claimed != 1:
            return None
        message = OutboundMessage.objects.select_related("instance").get(pk=message_id)
        if message.expires_at is not None and message.expires_at <= now:
            OutboundMessage.objects.filter(pk=message_id).update(
                status=MessageStatus.EXPIRED, lease_expires_at=None, updated_at=now
            )
            return None
        attempt = MessageAttempt.objects.create(
            message=message,
            number=message.attempt_log.count() + 1,
            started_at=now,
            outcome="sending",
        )
    return message, attempt


def _finish_attempt(
    attempt: MessageAttempt,
    outcome: str,
    started: float,
    error: str = "",
    http_status: int | None = None,
) -> None:
    attempt.finished_at = timezone.now()
    attempt.outcome = outcome
    attempt.http_status = http_status
    attempt.duration_ms = int((time.monotonic() - started) * 1000)
    attempt.error = error[:1000]
    attempt.save(update_fields=["finished_at", "outcome", "http_status", "duration_ms", "error"])


def _mine(message: OutboundMessage, token: uuid.UUID) -> QuerySet[OutboundMessage]:
    return OutboundMessage.objects.filter(
        pk=message.pk, status=MessageStatus.SENDING, dispatch_token=token
    )


def record_sent(message_id: uuid.UUID, sent: SentMessage, now: datetime) -> int:
    # Also from unknown: the sweeper may have given up on this send a moment before it answered.
    return OutboundMessage.objects.filter(
        pk=message_id, status__in=(MessageStatus.SENDING, MessageStatus.UNKNOWN)
    ).update(
        status=MessageStatus.SENT,
        gateway_message_id=sent.id,
        ack=sent.ack,
        sent_at=now,
        attempts=F("attempts") + 1,
        lease_expires_at=None,
        next_attempt_at=None,
        last_error="",
        updated_at=now,
    )


def _after_no_delivery(
    message: OutboundMessage, token: uuid.UUID, reason: str, now: datetime
) -> str:
    """Nothing reached the gateway: retry later, or fail once the attempts are used up."""
    attempts = message.attempts + 1
    if attempts >= MAX_ATTEMPTS:
        _mine(message, token).update(
            status=MessageStatus.FAILED,
            attempts=attempts,
            failed_at=now,
            last_error=reason,
            lease_expires_at=None,
            updated_at=now,
        )
        return MessageStatus.FAILED
    _mine(message, token).update(
        status=MessageStatus.QUEUED,
        attempts=attempts,
        next_attempt_at=now + timedelta(seconds=backoff(attempts)),
        dispatch_token=None,
        lease_expires_at=None,
        last_error=reason,
        updated_at=now,
    )
    return MessageStatus.QUEUED


@contextmanager
def outcome_transaction() -> Iterator[None]:
    """Record a send's success in one transaction that does not wait for the disk.

    Safe because the claim before the call was committed durably: if a crash loses this commit,
    the row is still `sending`, the sweeper makes it `unknown`, and reconciliation finds the
    message on the gateway. It saves two disk flushes per message on the hot path.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


def send(message_id: uuid.UUID, token: uuid.UUID) -> SendOutcome | None:
    """Claim, call the gateway once, record the outcome. None when the claim failed."""
    claimed = claim(message_id, token, timezone.now())
    if claimed is None:
        return None
    message, attempt = claimed
    instance = message.instance
    outcome = SendOutcome(MessageStatus.SENDING, instance.pk, paced=pacing.is_paced(instance))
    started = time.monotonic()
    try:
        sent = _client(instance).send_text(message.recipient, message.body)
    except NotConnected as exc:
        _finish_attempt(attempt, "not_connected", started, exc.message, exc.http_status)
        now = timezone.now()
        # Waiting for a connection is not a failed try: the attempt count stays.
        _mine(message, token).update(
            status=MessageStatus.QUEUED,
            next_attempt_at=now + timedelta(seconds=NOT_CONNECTED_DELAY),
            dispatch_token=None,
            lease_expires_at=None,
            last_error=_("The WhatsApp session is not connected; waiting for it."),
            updated_at=now,
        )
        # Stop dispatching until the health check confirms the session's state.
        session_state.observe(instance, Observed(SessionStatus.CLOSED, reason="send"))
        outcome.status, outcome.refresh_instance = MessageStatus.QUEUED, True
    except UnknownNumber as exc:
        reason = _("number is not on WhatsApp")
        _finish_attempt(attempt, "unknown_number", started, reason, exc.http_status)
        now = timezone.now()
        _mine(message, token).update(
            status=MessageStatus.FAILED,
            attempts=F("attempts") + 1,
            failed_at=now,
            last_error=reason,
            lease_expires_at=None,
            updated_at=now,
        )
        outcome.status = MessageStatus.FAILED
    except GatewayError as exc:
        now = timezone.now()
        if exc.delivered == "no":
            kind = "unreachable" if not exc.permanent else "rejected"
            _finish_attempt(attempt, kind, started, exc.message, exc.http_status)
            if exc.permanent:
                _mine(message, token).update(
                    status=MessageStatus.FAILED,
                    attempts=F("attempts") + 1,
                    failed_at=now,
                    last_error=exc.message,
                    lease_expires_at=None,
                    updated_at=now,
                )
                outcome.status = MessageStatus.FAILED
            else:
                outcome.status = _after_no_delivery(message, token, exc.message, now)
        else:
            # A read timeout may still be working on the gateway: give it longer.
            delay = (
                RECONCILE_DELAY_AFTER_TIMEOUT if isinstance(exc, ReadTimeout) else RECONCILE_DELAY
            )
            _finish_attempt(attempt, "unknown", started, exc.message, exc.http_status)
            outcome.status = _mark_unknown(message, token, exc.message, now, delay)
            outcome.reconcile_in = delay
    except SecretUnreadable:
        reason = _("The gateway secret cannot be decrypted; enter it again in the settings.")
        _finish_attempt(attempt, "not_connected", started, reason)
        now = timezone.now()
        _mine(message, token).update(
            status=MessageStatus.QUEUED,
            next_attempt_at=now + timedelta(seconds=60),
            dispatch_token=None,
            lease_expires_at=None,
            last_error=reason,
            updated_at=now,
        )
        outcome.status = MessageStatus.QUEUED
    except Exception as exc:  # e.g. the soft time limit mid-request: it may have gone out
        logger.exception("Unexpected error while sending message %s", message.pk)
        now = timezone.now()
        _finish_attempt(attempt, "unknown", started, type(exc).__name__)
        outcome.status = _mark_unknown(
            message, token, _("The send was interrupted."), now, RECONCILE_DELAY_AFTER_TIMEOUT
        )
        outcome.reconcile_in = RECONCILE_DELAY_AFTER_TIMEOUT
    else:
        with outcome_transaction():
            _finish_attempt(attempt, "sent", started, http_status=201)
            record_sent(message.pk, sent, timezone.now())
        outcome.status = MessageStatus.SENT
    if pacing.is_paced(instance):
        # The gap runs from the end of this send, so two sends are never closer than the gap.
        Instance.objects.filter(pk=instance.pk).update(
            next_send_at=timezone.now() + timedelta(seconds=pacing.next_gap(instance))
        )
    return outcome


def _mark_unknown(
    message: OutboundMessage, token: uuid.UUID, reason: str, now: datetime, delay: float
) -> str:
    _mine(message, token).update(
        status=MessageStatus.UNKNOWN,
        attempts=F("attempts") + 1,
        next_attempt_at=now + timedelta(seconds=delay),
        lease_expires_at=None,
        last_error=reason,
        updated_at=now,
    )
    return MessageStatus.UNKNOWN
