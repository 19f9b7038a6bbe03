"""Ambiguous sends that a person must resolve.

A message stays `unknown` while the gateway cannot tell whether it went out (its answer was lost
and its look-ups fail: an older gateway without them, a look-up route that errors). After
`WHATSAPP_UNKNOWN_GRACE` seconds it is flagged (`needs_review_since`), shown on the dashboard and
announced through the message-transition hook; it is still looked up, less often. A person with
the operate permission then decides: "it was sent" (→ sent) or "send it again" (→ queued, with a
fresh attempt count), recorded with who and when.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from whatsapp import audit as audit_log
from whatsapp import doorbell
from whatsapp.conf import conf
from whatsapp.models import OutboundMessage
from whatsapp.models.audit import AuditAction
from whatsapp.models.message import MessageStatus, Resolution
from whatsapp.services import transitions
from whatsapp.services.outbox import FRESH_START, InvalidTransition


def needing_review(instance_id: int | None = None) -> QuerySet[OutboundMessage]:
    """Flagged messages, oldest first, with their attempts."""
    queryset = OutboundMessage.objects.filter(
        status=MessageStatus.UNKNOWN, needs_review_since__isnull=False
    )
    if instance_id is not None:
        queryset = queryset.filter(instance_id=instance_id)
    return (
        queryset.select_related("instance")
        .prefetch_related("attempt_log")
        .order_by("needs_review_since")
    )


def count_needing_review(instance_id: int | None = None) -> int:
    """For the dashboard and the metrics endpoint."""
    return needing_review(instance_id).count()


def flag_overdue(now: datetime | None = None) -> int:
    """Flag unknown messages whose latest try is older than the grace period."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=conf.UNKNOWN_GRACE)
    overdue = (
        OutboundMessage.objects.filter(
            status=MessageStatus.UNKNOWN, needs_review_since__isnull=True
        )
        .annotate(last_try=Max("attempt_log__started_at"))
        .filter(Q(last_try__lte=cutoff) | Q(last_try__isnull=True, updated_at__lte=cutoff))
        .order_by()
        .values_list("pk", flat=True)
    )
    ids = list(overdue[: transitions.BULK_BATCH])
    if not ids:
        return 0
    return len(transitions.flag_for_review(Q(pk__in=ids), now))


def resolve(
    message_id: UUID, resolution: str, who: str, *, actor: audit_log.Actor | None = None
) -> OutboundMessage:
    """Record a person's decision on a flagged message; InvalidTransition when it is not one."""
    with transaction.atomic():
        message = _resolve(message_id, resolution, who)
        audit_log.record(
            actor or audit_log.Actor(who),
            AuditAction.MESSAGE_RESOLVE,
            message=message,
            changes={"resolution": resolution},
        )
    return message


def _resolve(message_id: UUID, resolution: str, who: str) -> OutboundMessage:
    now = timezone.now()
    flagged = Q(needs_review_since__isnull=False)
    audit: dict[str, Any] = {
        "needs_review_since": None,
        "resolution": resolution,
        "resolved_by": who[:150],
        "resolved_at": now,
    }
    if resolution == Resolution.SENT:
        message = OutboundMessage.objects.filter(pk=message_id).first()
        last_try = message.attempt_log.order_by("-number").first() if message else None
        moved = transitions.move(
            message_id,
            frm=MessageStatus.UNKNOWN,
            to=MessageStatus.SENT,
            where=flagged,
            sent_at=last_try.started_at if last_try else now,
            next_attempt_at=None,
            last_error="",
            **audit,
        )
    elif resolution == Resolution.RESEND:
        moved = transitions.move(
            message_id,
            frm=MessageStatus.UNKNOWN,
            to=MessageStatus.QUEUED,
            where=flagged,
            **FRESH_START,
            **audit,
        )
    else:
        raise ValueError(resolution)
    message = OutboundMessage.objects.select_related("instance").filter(pk=message_id).first()
    if not moved or message is None:
        raise InvalidTransition(_("Only a message waiting for review can be resolved."))
    if resolution == Resolution.RESEND:
        doorbell.ring(doorbell.DISPATCH, message.instance_id)
    return message
