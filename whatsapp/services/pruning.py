"""Pruning: finished messages (with their attempts) and handled gateway events older than
`WHATSAPP_MESSAGE_RETENTION_DAYS`, audit entries older than `WHATSAPP_AUDIT_RETENTION_DAYS`,
in batches, within a time budget below the housekeeping queue's soft limit; what is left waits
for the next hourly run. Media files unused for `WHATSAPP_MEDIA_RETENTION_DAYS` that no
unfinished message needs go too, with finished fetches.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.db.models import Model, QuerySet
from django.utils import timezone

from whatsapp.conf import conf
from whatsapp.models import AuditEntry, GatewayEvent, MediaFetch, OutboundMessage
from whatsapp.models.media import WorkState
from whatsapp.models.message import FINAL_STATUSES
from whatsapp.services import media_store

BATCH = 2000
BUDGET_SECONDS = 40.0


def _delete_in_batches(queryset: QuerySet[Model], deadline: float) -> int:
    deleted = 0
    while time.monotonic() < deadline:
        ids = list(queryset.order_by().values_list("pk", flat=True)[:BATCH])
        if not ids:
            break
        # Counts the rows of this model only, not the cascaded attempts.
        deleted += (
            queryset.model._default_manager.filter(pk__in=ids)
            .delete()[1]
            .get(queryset.model._meta.label, 0)
        )
        if len(ids) < BATCH:
            break
    return deleted


def prune(now: datetime | None = None, *, budget: float = BUDGET_SECONDS) -> dict[str, int]:
    now = now or timezone.now()
    cutoff = now - timedelta(days=conf.MESSAGE_RETENTION_DAYS)
    deadline = time.monotonic() + budget
    # created_at is indexed; a message that old and final is past any use but statistics.
    messages = OutboundMessage.objects.filter(created_at__lt=cutoff, status__in=FINAL_STATUSES)
    events = GatewayEvent.objects.filter(processed_at__lt=cutoff)
    audit_cutoff = now - timedelta(days=conf.AUDIT_RETENTION_DAYS)
    media_cutoff = now - timedelta(days=conf.MEDIA_RETENTION_DAYS)
    fetches = MediaFetch.objects.filter(
        finished_at__lt=media_cutoff, state__in=(WorkState.DONE, WorkState.FAILED)
    )
    return {
        "messages": _delete_in_batches(messages, deadline),
        "events": _delete_in_batches(events, deadline),
        "audit": _delete_in_batches(AuditEntry.objects.filter(at__lt=audit_cutoff), deadline),
        "media_fetches": _delete_in_batches(fetches, deadline),
        "media": media_store.prune(now),
    }
