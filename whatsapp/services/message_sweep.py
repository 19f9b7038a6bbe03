"""Sweep: re-drive what a lost or twice-delivered broker message left behind (flow Sweep).

* dispatched whose send task is known gone (not in the broker: wiped, restarted, a failed
  publish) or past its lease → queued again (a late task fails its claim on the new token);
* sending whose worker process is known dead (no heartbeat, whatsapp/liveness.py) or past its
  lease → unknown, the lost try counted, then reconciled;
* queued past its expiry → expired;
* unknown whose reconcile is overdue → reconciled again; past WHATSAPP_UNKNOWN_GRACE, flagged
  for a person (services/review.py);
* sent but still without a delivery receipt after WHATSAPP_UNDELIVERED_AFTER → undelivered.

Releasing early is safe by construction: a released dispatched row gets a new token, and a
released send is looked up on the gateway, never resent blindly (services/reconcile.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from whatsapp import broker, liveness
from whatsapp.conf import conf
from whatsapp.models import MessageAttempt, OutboundMessage
from whatsapp.models.message import AttemptOutcome, MessageStatus
from whatsapp.queues import MESSAGES
from whatsapp.services import review, transitions
from whatsapp.services.dispatch import expire_due, send_task_id

# An unknown message's reconcile task is normally queued for next_attempt_at; give it this long
# before assuming it was lost.
RECONCILE_GRACE = timedelta(seconds=30)
# A dispatched row younger than this may have its task still being published (after commit).
PUBLISH_GRACE = timedelta(seconds=5)
# At most this many dispatched rows are checked against the broker per sweep.
PROBE_LIMIT = 500


@dataclass
class SweepResult:
    requeued: int = 0
    orphaned: int = 0
    expired: int = 0
    flagged: int = 0
    undelivered: int = 0
    to_reconcile: list[UUID] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {
            "requeued": self.requeued,
            "orphaned": self.orphaned,
            "expired": self.expired,
            "flagged": self.flagged,
            "undelivered": self.undelivered,
            "reconcile": len(self.to_reconcile),
        }


def _tasks_gone(now: datetime) -> Q | None:
    """The dispatched rows whose send task is neither waiting nor reserved in the broker."""
    young = now - PUBLISH_GRACE
    waiting = list(
        OutboundMessage.objects.filter(
            status=MessageStatus.DISPATCHED, lease_expires_at__gte=now, updated_at__lt=young
        )
        .order_by()
        .values_list("pk", "dispatch_token")[:PROBE_LIMIT]
    )
    if not waiting:
        return None
    present = broker.task_ids(MESSAGES)
    if present is None:
        return None  # cannot tell: their leases decide
    gone = [
        (pk, token)
        for pk, token in waiting
        if token is None or send_task_id(pk, token) not in present
    ]
    if not gone:
        return None
    where = Q()
    for pk, token in gone:
        where |= Q(pk=pk, dispatch_token=token)
    return where


def release_dispatched(now: datetime) -> int:
    where = Q(lease_expires_at__lt=now)
    gone = _tasks_gone(now)
    if gone is not None:
        where |= gone
    released = transitions.move_many(
        where,
        frm=MessageStatus.DISPATCHED,
        to=MessageStatus.QUEUED,
        dispatch_token=None,
        lease_expires_at=None,
    )
    return len(released)


def _dead_workers_sends() -> list[UUID]:
    """Sends whose open try belongs to a worker process without a heartbeat."""
    open_tries = list(
        MessageAttempt.objects.filter(
            finished_at__isnull=True, message__status=MessageStatus.SENDING
        ).values_list("message_id", "worker")
    )
    if not open_tries:
        return []
    living = liveness.alive(worker for _pk, worker in open_tries)
    if living is None:
        return []  # the cache cannot be read: leases decide
    return [pk for pk, worker in open_tries if worker and worker not in living]


def release_sending(now: datetime) -> list[UUID]:
    """Sending rows whose worker is gone → unknown; the lost try is finished and counted."""
    where = Q(lease_expires_at__lt=now)
    dead = _dead_workers_sends()
    if dead:
        where |= Q(pk__in=dead)
    with transaction.atomic():
        orphans = transitions.move_many(
            where,
            frm=MessageStatus.SENDING,
            to=MessageStatus.UNKNOWN,
            lease_expires_at=None,
            # The worker may have died of this very message: the try counts, so a message that
            # always kills its worker fails after MAX_ATTEMPTS instead of cycling forever.
            attempts=F("attempts") + 1,
            next_attempt_at=now,
            last_error=_("The worker sending this message stopped; checking with the gateway."),
        )
        if orphans:
            # A sender still finishing its try holds that row and then waits for the message
            # row this sweep holds: skip its try rather than deadlock; it records its own end.
            open_tries = list(
                MessageAttempt.objects.select_for_update(skip_locked=True)
                .filter(message_id__in=orphans, finished_at__isnull=True)
                .values_list("pk", flat=True)
            )
            MessageAttempt.objects.filter(pk__in=open_tries).update(
                outcome=AttemptOutcome.LOST, finished_at=now
            )
    return orphans


def mark_undelivered(now: datetime) -> int:
    """Sent messages without a delivery receipt for UNDELIVERED_AFTER → undelivered, so the
    application hears of them; a late receipt still moves them on (services/receipts.py)."""
    cutoff = now - timedelta(seconds=int(conf.UNDELIVERED_AFTER))
    return len(
        transitions.move_many(
            Q(sent_at__lt=cutoff), frm=MessageStatus.SENT, to=MessageStatus.UNDELIVERED
        )
    )


def sweep(now: datetime | None = None) -> SweepResult:
    now = now or timezone.now()
    result = SweepResult()
    result.requeued = release_dispatched(now)
    orphans = release_sending(now)
    result.orphaned = len(orphans)
    result.expired = expire_due(now)
    result.flagged = review.flag_overdue(now)
    result.undelivered = mark_undelivered(now)
    overdue = OutboundMessage.objects.filter(
        status=MessageStatus.UNKNOWN, next_attempt_at__lte=now - RECONCILE_GRACE
    ).values_list("id", flat=True)
    # Orphans are looked up at once: found, they are sent; not found, reconcile waits until
    # their call cannot be running any more before queueing them again.
    result.to_reconcile = orphans + [pk for pk in overdue if pk not in set(orphans)]
    return result
