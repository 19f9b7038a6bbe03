"""Message tasks: thin wrappers taking ids. Rows hold the state; these are only doorbells."""

from __future__ import annotations

import logging
import time
import uuid

from celery import shared_task
from django.core.cache import cache

from whatsapp import doorbell
from whatsapp.conf import conf
from whatsapp.services import dispatch, outgoing, reconcile, send

logger = logging.getLogger(__name__)


def publish_sends(ids: list[uuid.UUID], token: uuid.UUID) -> None:
    # A file's send may take longer than its queue's time limits allow a text's.
    budgets = outgoing.limits_of(ids)
    for message_id in ids:
        budget = budgets.get(message_id)
        doorbell.publish(
            doorbell.SEND,
            (str(message_id), str(token)),
            task_id=dispatch.send_task_id(message_id, token),
            time_limits=budget.time_limits() if budget else None,
        )


def schedule_wake(instance_id: int, seconds: float) -> None:
    """Ring the dispatcher again when pacing or a retry allows; one wake per moment and instance."""
    countdown = min(max(seconds, 0.05), float(conf.MAX_COUNTDOWN))
    due = round(time.time() + countdown, 1)
    try:
        fresh = cache.add(f"whatsapp:dispatch-wake:{instance_id}:{due}", 1, int(countdown) + 10)
    except Exception:
        fresh = True
    if fresh:
        doorbell.publish(doorbell.DISPATCH, (instance_id,), countdown=countdown)


BUSY_RETRY_SECONDS = 0.2


def run_dispatch(instance_id: int, *, wait_for_lock: bool = True) -> int:
    result = dispatch.dispatch_instance(
        instance_id, publish=publish_sends, wait_for_lock=wait_for_lock
    )
    if result.wake_in is not None:
        schedule_wake(instance_id, result.wake_in)
    elif result.busy:
        # The holder may have counted our send as still in flight: look again in a moment.
        schedule_wake(instance_id, BUSY_RETRY_SECONDS)
    return len(result.claimed)


def dispatch_each(ids: list[int]) -> int:
    """Dispatch every instance in turn; one that fails is logged and never stops the others."""
    claimed = 0
    for instance_id in ids:
        try:
            claimed += run_dispatch(instance_id)
        except Exception:
            logger.exception("dispatch of instance %s failed; the others go on", instance_id)
    return claimed


@shared_task(name="whatsapp.messages.dispatch")
def dispatch_messages(instance_id: int | None = None) -> int:
    """One instance, rung by an enqueue or a wake (every instance with work when none is given)."""
    if instance_id is not None:
        # Before any row is read: an enqueue committed from now on rings again (ring_pending).
        doorbell.started(doorbell.DISPATCH, instance_id)
    ids = [instance_id] if instance_id is not None else dispatch.instances_with_work()
    return dispatch_each(ids)


@shared_task(name="whatsapp.messages.send")
def send_message(message_id: str, token: str) -> str:
    outcome = send.send(uuid.UUID(message_id), uuid.UUID(token))
    if outcome is None:
        return "not claimed"
    if outcome.refresh_instance:
        doorbell.publish(doorbell.REFRESH_STATE, (outcome.instance_id,))
    if outcome.reconcile_in is not None:
        doorbell.publish(doorbell.RECONCILE, (message_id,), countdown=outcome.reconcile_in)
    if outcome.next_gap is not None:
        # Paced: a dispatch now could only answer "wait the gap" (this send just set it), so the
        # dispatcher is rung once, when the gap ends: one dispatch per paced send, not two.
        schedule_wake(outcome.instance_id, outcome.next_gap)
    # Unpaced, claiming the next messages here saves a trip through the default queue per send,
    # and only once the in-flight batch runs low, so the instance lock is taken once per batch.
    elif dispatch.needs_refill(
        outcome.instance_id, paced=outcome.paced, in_flight=outcome.in_flight
    ):
        run_dispatch(outcome.instance_id, wait_for_lock=False)
    return outcome.status


@shared_task(name="whatsapp.messages.reconcile")
def reconcile_message(message_id: str) -> str:
    what, ring = reconcile.reconcile(uuid.UUID(message_id))
    if ring is not None:
        run_dispatch(ring)
    return what
