"""Dispatch: per connected instance, claim the due messages its pacing budget allows.

The instance row is locked for the whole decision, so dispatchers in different processes take
turns and pacing holds across all of them. Claimed rows become `dispatched` with a token and a
lease; their send tasks are published only after the commit (flow Dispatch).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, Min, Q
from django.utils import timezone

from whatsapp.models import Instance, OutboundMessage
from whatsapp.models.message import MessageStatus
from whatsapp.services import pacing, transitions

logger = logging.getLogger(__name__)

# A dispatched message whose send task never started in this time goes back to the queue (the
# broker lost the task). Resending is safe: the old task's claim fails on the new token.
DISPATCH_LEASE = timedelta(seconds=60)
IN_FLIGHT = (MessageStatus.DISPATCHED, MessageStatus.SENDING)
# Statuses that hold back later messages to the same recipient (FIFO per recipient).
BUSY = (MessageStatus.DISPATCHED, MessageStatus.SENDING, MessageStatus.UNKNOWN)


@dataclass
class DispatchResult:
    instance_id: int
    claimed: list[uuid.UUID] = field(default_factory=list)
    token: uuid.UUID | None = None
    # Seconds until this instance may have something to send; None: a finishing send rings.
    wake_in: float | None = None
    # Another process held the instance: it may have decided before our send finished.
    busy: bool = False


def due(now: datetime) -> Q:
    return (
        Q(status=MessageStatus.QUEUED, awaiting_media=False)
        & (Q(not_before__isnull=True) | Q(not_before__lte=now))
        & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    )


def send_task_id(message_id: uuid.UUID | str, token: uuid.UUID | str) -> str:
    """The broker id of a message's send task, so the sweeper can look for it there."""
    return f"whatsapp-send:{message_id}:{token}"


def instances_with_work() -> list[int]:
    """Instances the beat dispatcher should look at: connected, enabled, with queued messages.

    One id per instance: `order_by()` drops the model's default ordering, which would otherwise
    be added to the DISTINCT and make it one id per queued row.
    """
    return list(
        OutboundMessage.objects.filter(
            status=MessageStatus.QUEUED,
            awaiting_media=False,
            instance__enabled=True,
            instance__connected=True,
        )
        .order_by()
        .values_list("instance_id", flat=True)
        .distinct()
    )


def needs_refill(instance_id: int, *, paced: bool, in_flight: int | None = None) -> bool:
    """Whether a finishing send should run the dispatcher (no lock taken to decide).

    `in_flight`: the count of the instance's messages still in flight, when the send's outcome
    counted them in its own statement."""
    if paced:
        return True
    if in_flight is None:
        rows = OutboundMessage.objects.filter(instance_id=instance_id, status__in=IN_FLIGHT)
        in_flight = rows.count()
    return in_flight <= pacing.REFILL_AT


def _pick(instance: Instance, now: datetime, slots: int) -> list[uuid.UUID]:
    candidates = list(
        OutboundMessage.objects.filter(due(now), instance=instance)
        .order_by("priority", "created_at")
        .select_for_update(skip_locked=True)
        .values_list("id", "recipient", "priority", "created_at")[: slots * 4 + 20]
    )
    if not candidates:
        return []
    recipients = {c[1] for c in candidates}
    busy = set(
        OutboundMessage.objects.filter(
            instance=instance, status__in=BUSY, recipient__in=recipients
        ).values_list("recipient", flat=True)
    )
    # A message waiting for its retry, or for its file (a media_url being fetched), keeps its
    # place ahead of later ones to the same person.
    waiting: dict[str, tuple[int, datetime]] = {}
    for recipient, priority, created in (
        OutboundMessage.objects.filter(
            instance=instance, status=MessageStatus.QUEUED, recipient__in=recipients
        )
        .filter(Q(next_attempt_at__gt=now) | Q(awaiting_media=True))
        .values_list("recipient", "priority", "created_at")
    ):
        key = (priority, created)
        if recipient not in waiting or key < waiting[recipient]:
            waiting[recipient] = key
    chosen: list[uuid.UUID] = []
    taken: set[str] = set()
    for ident, recipient, priority, created in candidates:
        if recipient in busy or recipient in taken:
            continue
        if recipient in waiting and waiting[recipient] < (priority, created):
            continue
        chosen.append(ident)
        taken.add(recipient)
        if len(chosen) >= slots:
            break
    return chosen


def _next_due_in(instance: Instance, now: datetime) -> float | None:
    waiting = OutboundMessage.objects.filter(
        instance=instance, status=MessageStatus.QUEUED
    ).aggregate(
        retry=Min("next_attempt_at", filter=Q(next_attempt_at__gt=now)),
        later=Min("not_before", filter=Q(not_before__gt=now)),
    )
    times = [t for t in (waiting["retry"], waiting["later"]) if t is not None]
    return max(0.05, (min(times) - now).total_seconds()) if times else None


def expire_due(now: datetime, instance_id: int | None = None) -> int:
    where = Q(expires_at__isnull=False, expires_at__lte=now)
    if instance_id is not None:
        where &= Q(instance_id=instance_id)
    expired = transitions.move_many(where, frm=MessageStatus.QUEUED, to=MessageStatus.EXPIRED)
    return len(expired)


def dispatch_instance(
    instance_id: int,
    publish: Callable[[list[uuid.UUID], uuid.UUID], None] | None = None,
    *,
    wait_for_lock: bool = True,
) -> DispatchResult:
    """Claim what may be sent now; `publish(ids, token)` runs after the commit.

    `wait_for_lock=False` is for refills from finishing sends: when another process holds the
    instance it is dispatching right now, so waiting for it would only idle a send worker.
    """
    result = DispatchResult(instance_id)
    with transaction.atomic():
        locked = Instance.objects.locked(skip_locked=not wait_for_lock)
        instance = locked.filter(pk=instance_id).first()
        if (
            instance is None
            and not wait_for_lock
            and Instance.objects.filter(pk=instance_id).exists()
        ):
            result.busy = True
            return result
        if instance is None or not instance.enabled or not instance.connected:
            # Disconnected: the messages wait (until they expire); health re-rings on connect.
            return result
        now = timezone.now()  # after the lock, which may have been waited for
        expire_due(now, instance_id)
        counts = OutboundMessage.objects.filter(instance=instance, status__in=IN_FLIGHT).aggregate(
            dispatched=Count("id", filter=Q(status=MessageStatus.DISPATCHED)),
            total=Count("id"),
        )
        n_dispatched, n_in_flight = counts["dispatched"], counts["total"]
        budget = pacing.budget(instance, now, in_flight=n_in_flight, dispatched=n_dispatched)
        if budget.slots <= 0:
            if (
                budget.wait is not None
                and OutboundMessage.objects.filter(due(now), instance=instance).exists()
            ):
                result.wake_in = budget.wait
            return result
        chosen = _pick(instance, now, budget.slots)
        if not chosen:
            result.wake_in = _next_due_in(instance, now)
            return result
        token = uuid.uuid4()
        # The chosen rows are locked by this transaction (`_pick`): every one of them moves.
        moved = set(
            transitions.move_many(
                Q(pk__in=chosen),
                frm=MessageStatus.QUEUED,
                to=MessageStatus.DISPATCHED,
                dispatch_token=token,
                lease_expires_at=now + DISPATCH_LEASE,
            )
        )
        chosen = [pk for pk in chosen if pk in moved]  # in priority order, for the publish
        if pacing.is_paced(instance):
            Instance.objects.filter(pk=instance.pk).update(
                next_send_at=now + timedelta(seconds=pacing.next_gap(instance))
            )
        result.claimed, result.token = chosen, token
        if publish is not None:
            transaction.on_commit(lambda: publish(chosen, token))
    return result
