"""The gateway's webhooks: stored as received (the view), applied here (a task).

Gateway input is untrusted. Each event is applied in its own savepoint: one that raises is
marked failed with its error, tried again with backoff, and set aside after `MAX_ATTEMPTS`;
it never blocks the events after it. Session events of an instance are applied in the order
received, under a lock on the instance; acks and inbound messages need no order and no lock.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from whatsapp import doorbell
from whatsapp.gateway import values
from whatsapp.gateway.redact import redact_text
from whatsapp.models import GatewayEvent, Instance
from whatsapp.models.events import EventState
from whatsapp.services import event_handlers
from whatsapp.services.event_handlers import SESSION_EVENTS, dedupe_key

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 4
RETRY_BASE = timedelta(seconds=30)
# A pending event older than this lost its doorbell: the sweeper rings again.
PENDING_GRACE = timedelta(seconds=30)
SWEEP_BATCH = 500
# An event the sweeper rang is not rung again for this long. During a long backlog its first
# doorbell is only waiting in the queue, and a ring at every sweep added up to 500 duplicate
# tasks to that queue each 30 s (seen in a 10,000-message drain with acks). A flushed Redis
# forgets these marks with the doorbells, so a truly lost one is rung again at the next sweep.
RERING_EVERY = timedelta(minutes=5)

__all__ = ["apply", "dedupe_key", "store", "sweep"]


def store(instance: Instance, payload: dict[str, Any]) -> GatewayEvent | None:
    """Store one webhook call; None when it repeats one already stored.

    `payload` must already be storable (`values.clean_json`), as the receiver makes it.
    """
    event_name = values.text(payload.get("event"), 40)
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
    """Apply this event (and, for a session event, any earlier pending one of its instance)."""
    event = GatewayEvent.objects.filter(pk=event_id).first()
    if event is None:
        return
    if event.event in SESSION_EVENTS:
        _apply_session_events(event.instance_id, event_id)
    else:
        _apply_alone(event_id)


def _apply_session_events(instance_id: int, up_to: int) -> None:
    """Pending session events of the instance up to `up_to`, in the order received.

    Locking the instance row serialises the appliers of one instance; failed events are not
    pending, so they never hold back the ones after them.
    """
    with transaction.atomic():
        Instance.objects.locked().filter(pk=instance_id).exists()
        pending = GatewayEvent.objects.filter(
            instance_id=instance_id,
            state=EventState.PENDING,
            event__in=SESSION_EVENTS,
            pk__lte=up_to,
        ).order_by("pk")
        for event in pending:
            _apply_one(event)


def _apply_alone(event_id: int) -> None:
    with transaction.atomic():
        event = (
            GatewayEvent.objects.select_for_update(skip_locked=True)
            .filter(pk=event_id, state__in=(EventState.PENDING, EventState.FAILED))
            .first()
        )
        if event is not None:
            _apply_one(event)


def _apply_one(event: GatewayEvent) -> None:
    now = timezone.now()
    try:
        with transaction.atomic():  # a savepoint: a failure undoes this event only
            instance = Instance.objects.get(pk=event.instance_id)
            outcome = event_handlers.apply(instance, event.event, _as_dict(event.payload))
    except Exception as exc:
        _failed(event, exc, now)
        return
    event.state, event.processed_at, event.outcome = EventState.APPLIED, now, outcome[:200]
    event.next_attempt_at, event.error = None, ""
    event.save(update_fields=["state", "processed_at", "outcome", "next_attempt_at", "error"])


def _as_dict(payload: Any) -> dict[str, Any]:
    return payload if isinstance(payload, dict) else {}


def _failed(event: GatewayEvent, exc: Exception, now: datetime) -> None:
    event.attempts += 1
    # The type and message only (phone numbers masked): never the payload.
    event.error = redact_text(f"{type(exc).__name__}: {exc}")[:1000]
    if event.attempts >= MAX_ATTEMPTS:
        event.state, event.processed_at, event.next_attempt_at = EventState.SET_ASIDE, now, None
        event.outcome = "set aside after repeated failures"
    else:
        event.state = EventState.FAILED
        event.next_attempt_at = now + RETRY_BASE * 2 ** (event.attempts - 1)
        event.outcome = "failed; will retry"
    logger.warning(
        "gateway event %s (%s) of instance %s failed (attempt %s): %s",
        event.pk,
        event.event,
        event.instance_id,
        event.attempts,
        event.error,
    )
    event.save(
        update_fields=["attempts", "error", "state", "processed_at", "next_attempt_at", "outcome"]
    )


def retry(event_id: int) -> None:
    """Apply a failed event again. A session event that a later one has superseded is set
    aside instead: applying an old status now would undo the newer one."""
    with transaction.atomic():
        event = (
            GatewayEvent.objects.select_for_update(skip_locked=True)
            .filter(pk=event_id, state=EventState.FAILED)
            .first()
        )
        if event is None:
            return
        if event.event in SESSION_EVENTS:
            Instance.objects.locked().filter(pk=event.instance_id).exists()
            if GatewayEvent.objects.filter(
                instance_id=event.instance_id,
                event__in=SESSION_EVENTS,
                state=EventState.APPLIED,
                pk__gt=event.pk,
            ).exists():
                event.state, event.processed_at = EventState.SET_ASIDE, timezone.now()
                event.outcome = "superseded by a later session event"
                event.save(update_fields=["state", "processed_at", "outcome"])
                return
        _apply_one(event)


def sweep(now: datetime | None = None) -> int:
    """Ring again for pending events whose doorbell was lost and failed ones now due."""
    now = now or timezone.now()
    due = GatewayEvent.objects.filter(
        Q(state=EventState.PENDING, received_at__lt=now - PENDING_GRACE)
        | Q(state=EventState.FAILED, next_attempt_at__lte=now)
    ).order_by("pk")
    rows = list(due.values_list("pk", "state")[:SWEEP_BATCH])
    recent = _rung_lately([pk for pk, _state in rows], now)
    rung: list[int] = []
    for pk, state in rows:
        if pk in recent:
            continue
        task = doorbell.RETRY_EVENT if state == EventState.FAILED else doorbell.APPLY_EVENT
        doorbell.publish(task, (pk,))
        rung.append(pk)
    _mark_rung(rung, now)
    return len(rung)


def _ring_key(pk: int) -> str:
    return f"whatsapp:event-rerung:{pk}"


def _rung_lately(pks: list[int], now: datetime) -> set[int]:
    """Events the sweeper rang less than `RERING_EVERY` before `now` (none when the cache fails:
    ringing twice is harmless, an event never rung again is not)."""
    if not pks:
        return set()
    try:
        marks = cache.get_many([_ring_key(pk) for pk in pks])
    except Exception:
        return set()
    since = now.timestamp() - RERING_EVERY.total_seconds()
    return {
        pk
        for pk in pks
        if isinstance(at := marks.get(_ring_key(pk)), int | float) and since < at <= now.timestamp()
    }


def _mark_rung(pks: list[int], now: datetime) -> None:
    if not pks:
        return
    try:
        cache.set_many(
            {_ring_key(pk): now.timestamp() for pk in pks},
            timeout=int(RERING_EVERY.total_seconds()),
        )
    except Exception:
        logger.warning("Could not note the events rung again; the next sweep may ring them too.")
