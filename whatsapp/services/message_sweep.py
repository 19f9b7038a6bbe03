"""Sweep: re-drive what a lost or twice-delivered broker message left behind (flow Sweep).

* dispatched past its lease → queued again (its send task was lost; a late one fails its claim);
* sending past its lease → unknown, then reconciled (the worker died mid-send);
* queued past its expiry → expired;
* unknown whose reconcile is overdue → reconciled again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from whatsapp.models import MessageAttempt, OutboundMessage
from whatsapp.models.message import MessageStatus
from whatsapp.services.dispatch import expire_due

# An unknown message's reconcile task is normally queued for next_attempt_at; give it this long
# before assuming it was lost.
RECONCILE_GRACE = timedelta(seconds=30)


@dataclass
class SweepResult:
    requeued: int = 0
    orphaned: int = 0
    expired: int = 0
    to_reconcile: list[UUID] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {
            "requeued": self.requeued,
            "orphaned": self.orphaned,
            "expired": self.expired,
            "reconcile": len(self.to_reconcile),
        }


def sweep(now: datetime | None = None) -> SweepResult:
    now = now or timezone.now()
    result = SweepResult()
    result.requeued = OutboundMessage.objects.filter(
        status=MessageStatus.DISPATCHED, lease_expires_at__lt=now
    ).update(
        status=MessageStatus.QUEUED, dispatch_token=None, lease_expires_at=None, updated_at=now
    )
    with transaction.atomic():
        orphans = list(
            OutboundMessage.objects.select_for_update(skip_locked=True)
            .filter(status=MessageStatus.SENDING, lease_expires_at__lt=now)
            .values_list("id", flat=True)
        )
        if orphans:
            OutboundMessage.objects.filter(pk__in=orphans, status=MessageStatus.SENDING).update(
                status=MessageStatus.UNKNOWN,
                lease_expires_at=None,
                next_attempt_at=now,
                last_error=_("The worker sending this message stopped; checking with the gateway."),
                updated_at=now,
            )
            # A sender still finishing its attempt holds that row and then waits for the message
            # row this sweep holds: skip its attempt rather than deadlock; it records its own end.
            attempts = list(
                MessageAttempt.objects.select_for_update(skip_locked=True)
                .filter(message_id__in=orphans, finished_at__isnull=True)
                .values_list("pk", flat=True)
            )
            MessageAttempt.objects.filter(pk__in=attempts).update(outcome="lost", finished_at=now)
    result.orphaned = len(orphans)
    result.expired = expire_due(now)
    overdue = OutboundMessage.objects.filter(
        status=MessageStatus.UNKNOWN, next_attempt_at__lte=now - RECONCILE_GRACE
    ).values_list("id", flat=True)
    result.to_reconcile = orphans + [pk for pk in overdue if pk not in set(orphans)]
    return result
