"""Sending delivery rows: claim, sign and post, then delivered, retried later, or failed.

A worker claims a due row with a token and a lease (the shape of `services/claims.py`), posts
it through the one client (`whatsapp/webhook_client.py`), and records what came back under that
token. 2xx is delivered; anything else is retried after `WEBHOOK_RETRY_DELAYS` (each with up to
20% jitter), then failed. Deliveries of one message's events to one endpoint keep their order:
a row is not claimed while an earlier one of the same message and endpoint is open, and the
next one is rung when it ends. An endpoint that has failed every attempt for
`WEBHOOK_DISABLE_AFTER` is disabled (`whatsapp.signals.webhook_endpoint_disabled`).
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from whatsapp import crypto, doorbell, signals, webhook_client
from whatsapp.conf import conf
from whatsapp.metrics import WEBHOOK_DELIVERIES
from whatsapp.models import WebhookDelivery, WebhookEndpoint
from whatsapp.models.media import WorkState
from whatsapp.services.claims import finish
from whatsapp.services.webhook_events import send_on_commit

logger = logging.getLogger(__name__)

OPEN = (WorkState.PENDING, WorkState.RUNNING)
JITTER = 0.2
# A pending row untouched this long had its doorbell lost (a countdown a wiped broker dropped).
SWEEP_GRACE = timedelta(seconds=30)
SWEEP_BATCH = 500
SUCCESS_TOUCH = timedelta(seconds=1)
# A task goes on with its endpoint's other due rows this long (below the queue's soft limit,
# minus one delivery's timeout).
DRAIN_SECONDS = 5.0


def retry_delays() -> list[float]:
    """The delays (s) of WEBHOOK_RETRY_DELAYS; system check whatsapp.E006 says when it is bad."""
    return [float(value) for value in conf.WEBHOOK_RETRY_DELAYS]


def lease() -> timedelta:
    return timedelta(seconds=float(conf.WEBHOOK_TIMEOUT) + 20)


def _earlier_open() -> QuerySet[WebhookDelivery]:
    """Open deliveries of the same message to the same endpoint, before the outer row."""
    return WebhookDelivery.objects.filter(
        endpoint=OuterRef("endpoint"),
        message_id=OuterRef("message_id"),
        id__lt=OuterRef("id"),
        state__in=OPEN,
    )


def _unblocked() -> Q:
    """Not waiting behind an earlier open event of its message. Written with an OR so that
    PostgreSQL checks it per row with the ordering index (as an anti-join, on a table whose
    statistics are stale after a burst, it compared every pending row with every other)."""
    return Q(message_id__isnull=True) | Q(~Exists(_earlier_open()))


def _ready(now: datetime) -> Q:
    return Q(state=WorkState.PENDING) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )


@contextmanager
def _bookkeeping() -> Iterator[None]:
    """A transaction for a delivery's own state that does not wait for the disk to confirm it.

    Deliveries are at least once by design (receivers deduplicate on `webhook-id`): a claim or
    an outcome lost in a database crash only means the event is sent again, by the sweep. Not
    waiting for each commit's flush is most of what one worker can deliver per second. The rows
    of the events themselves are written in the change's own transaction, flushed as usual.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


def _take(candidates: QuerySet[WebhookDelivery]) -> tuple[WebhookDelivery, uuid.UUID] | None:
    """The first due candidate not waiting behind an earlier event → running, for one worker."""
    token = uuid.uuid4()
    now = timezone.now()
    with _bookkeeping():
        row = (
            candidates.filter(_ready(now))
            .filter(_unblocked())
            .select_related("endpoint")
            .order_by("id")
            .select_for_update(skip_locked=True, of=("self",))
            .first()
        )
        if row is None:
            return None
        fields = {
            "state": WorkState.RUNNING,
            "token": token,
            "lease_expires_at": now + lease(),
            "attempts": row.attempts + 1,  # the row is locked: no other writer
            "updated_at": now,
        }
        WebhookDelivery.objects.filter(pk=row.pk).update(**fields)
        for name, value in fields.items():
            setattr(row, name, value)
        return row, token


def claim(delivery_id: Any) -> tuple[WebhookDelivery, uuid.UUID] | None:
    return _take(WebhookDelivery.objects.filter(pk=delivery_id))


def claim_next(endpoint_id: Any) -> tuple[WebhookDelivery, uuid.UUID] | None:
    return _take(WebhookDelivery.objects.filter(endpoint_id=endpoint_id))


def run(delivery_id: str) -> str:
    """Deliver this row if it is due, then the endpoint's other due rows for a few seconds (one
    doorbell serves a burst of events); what happened, for the task's result and logs."""
    try:
        pk = int(delivery_id)
    except (TypeError, ValueError):
        return "no such delivery"
    deadline = time.monotonic() + DRAIN_SECONDS
    claimed = claim(pk)
    if claimed is None:
        result = "not due, waiting for an earlier event, or taken"
        rows = WebhookDelivery.objects.filter(pk=pk).values_list("endpoint_id", flat=True)
        endpoint_id = rows.first()
    else:
        result = deliver(*claimed)
        endpoint_id = claimed[0].endpoint_id
    if endpoint_id is None:
        return result
    # After a failure the endpoint is left alone; each of its rows keeps its own schedule.
    more = drain(endpoint_id, deadline) if claimed is None or result == "delivered" else 0
    _ring_next_due(endpoint_id)
    return f"{result}; then {more} more" if more else result


def drain(endpoint_id: Any, deadline: float) -> int:
    """The endpoint's due rows, one after the other, until none is left, one fails, or the
    deadline passes; how many were delivered."""
    delivered = 0
    while time.monotonic() < deadline:
        claimed = claim_next(endpoint_id)
        if claimed is None or deliver(*claimed) != "delivered":
            break
        delivered += 1
    return delivered


def _ring_next_due(endpoint_id: Any) -> None:
    """What this task left (its deadline, a failure) keeps a doorbell of its own."""
    now = timezone.now()
    following = (
        WebhookDelivery.objects.filter(_ready(now), endpoint_id=endpoint_id)
        .filter(_unblocked())
        .order_by("id")
        .values_list("pk", flat=True)
        .first()
    )
    if following is not None:
        doorbell.publish(doorbell.DELIVER_WEBHOOK, (str(following),))


def deliver(row: WebhookDelivery, token: uuid.UUID) -> str:
    """Post one claimed row and record the outcome."""
    endpoint = row.endpoint
    if not endpoint.enabled:
        with _bookkeeping():
            _end(row, token, WorkState.FAILED, error="the endpoint is disabled")
        return "endpoint disabled"
    try:
        secret = endpoint.secret
    except crypto.SecretUnreadable:
        with _bookkeeping():
            _end(row, token, WorkState.FAILED, error="the signing secret cannot be decrypted")
        return "secret unreadable"
    outcome = webhook_client.post(
        endpoint.url,
        secret=secret,
        event_id=row.event_id,
        body=row.body,
        timeout=float(conf.WEBHOOK_TIMEOUT),
        allow_private=bool(conf.WEBHOOK_ALLOW_PRIVATE),
        session=_session(),
    )
    return record(row, token, outcome)


_http: dict[bool, Any] = {}


def _session() -> Any:
    """One pooled HTTP session per worker process: keep-alive to busy receivers."""
    allow = bool(conf.WEBHOOK_ALLOW_PRIVATE)
    if allow not in _http:
        from whatsapp.urlfetch import guarded_session

        _http[allow] = guarded_session(allow, webhook_client.USER_AGENT)
    return _http[allow]


def record(row: WebhookDelivery, token: uuid.UUID, outcome: webhook_client.Outcome) -> str:
    now = timezone.now()
    answer = {
        "last_status": outcome.status,
        "duration_ms": outcome.duration_ms,
        "response_excerpt": outcome.answer,
    }
    if outcome.delivered:
        with _bookkeeping():
            _end(row, token, WorkState.DONE, error="", delivered_at=now, **answer)
            # One endpoint row for every delivery: touched at most once a second, or it would
            # make every worker wait for the others' commits.
            WebhookEndpoint.objects.filter(pk=row.endpoint_id).filter(
                Q(failing_since__isnull=False)
                | Q(last_success_at__isnull=True)
                | Q(last_success_at__lt=now - SUCCESS_TOUCH)
            ).update(last_success_at=now, failing_since=None)
        WEBHOOK_DELIVERIES.labels(result="delivered").inc()
        return "delivered"
    error = outcome.error or f"HTTP {outcome.status}"
    delays = retry_delays()
    with _bookkeeping():
        if row.attempts <= len(delays):
            delay = delays[row.attempts - 1] * (1 + random.uniform(0, JITTER))
            if finish(
                WebhookDelivery,
                row.pk,
                token,
                WorkState.PENDING,
                error=error,
                next_attempt_at=now + timedelta(seconds=delay),
                **answer,
            ) and delay <= float(conf.MAX_COUNTDOWN):
                # Longer waits are the sweep's: a broker holds a countdown only so long.
                doorbell.ring(doorbell.DELIVER_WEBHOOK, str(row.pk), countdown=delay)
            result = "failed"
        else:
            _end(row, token, WorkState.FAILED, error=error, **answer)
            result = "gave_up"
        _note_failure(row.endpoint_id, now)
    WEBHOOK_DELIVERIES.labels(result="failed").inc()
    if result == "gave_up":
        WEBHOOK_DELIVERIES.labels(result="gave_up").inc()
    return f"{result}: {error}"


def _end(row: WebhookDelivery, token: uuid.UUID, state: str, **fields: Any) -> None:
    """The row is done or failed: ring the next event of its message for its endpoint."""
    if finish(WebhookDelivery, row.pk, token, state, **fields) and row.message_id is not None:
        ring_next(row.endpoint_id, row.message_id)


def ring_next(endpoint_id: Any, message_id: Any) -> None:
    following = (
        WebhookDelivery.objects.filter(
            endpoint_id=endpoint_id, message_id=message_id, state=WorkState.PENDING
        )
        .order_by("id")
        .values_list("pk", flat=True)
        .first()
    )
    if following is not None:
        doorbell.ring(doorbell.DELIVER_WEBHOOK, str(following))


def _note_failure(endpoint_id: Any, now: datetime) -> None:
    """Failing since the first failed attempt after a success; too long → disabled."""
    WebhookEndpoint.objects.filter(pk=endpoint_id, failing_since__isnull=True).update(
        failing_since=now
    )
    limit = now - timedelta(seconds=float(conf.WEBHOOK_DISABLE_AFTER))
    reason = "failed every delivery for longer than WEBHOOK_DISABLE_AFTER"
    disabled = WebhookEndpoint.objects.filter(
        pk=endpoint_id, enabled=True, failing_since__lte=limit
    ).update(enabled=False, disabled_at=now, disabled_reason=reason)
    if disabled:
        url = WebhookEndpoint.objects.filter(pk=endpoint_id).values_list("url", flat=True).first()
        logger.warning("webhook endpoint %s disabled: it %s", endpoint_id, reason)
        send_on_commit(
            signals.webhook_endpoint_disabled,
            WebhookEndpoint,
            endpoint_id=endpoint_id,
            url=url or "",
            reason=reason,
        )


def sweep(now: datetime) -> int:
    """Rows a lost worker held are due again; due rows whose doorbell was lost are rung."""
    lost = WebhookDelivery.objects.filter(state=WorkState.RUNNING, lease_expires_at__lt=now)
    released = list(lost.values_list("pk", flat=True)[:SWEEP_BATCH])
    WebhookDelivery.objects.filter(pk__in=released, state=WorkState.RUNNING).update(
        state=WorkState.PENDING, lease_expires_at=None, next_attempt_at=None, updated_at=now
    )
    due = (
        WebhookDelivery.objects.filter(_ready(now), updated_at__lt=now - SWEEP_GRACE)
        .filter(_unblocked())
        .order_by("id")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    stale = list(due)
    for pk in [*released, *stale]:
        doorbell.publish(doorbell.DELIVER_WEBHOOK, (str(pk),))
    return len(released) + len(stale)
