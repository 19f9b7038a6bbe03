"""One sweep, run by beat on the housekeeping queue, for every kind of row a lost doorbell can
leave behind: a publish that failed (broker down), a broker that was wiped, a worker that died.

Each kind registers a sweeper here; a sweeper finds its rows that should have been acted on by
now and rings again (or releases them), and returns how many. Adding a kind is one line, at the
import of the module that owns the rows:

    sweeps.register("deliveries", deliveries.sweep)

Sweepers run one after the other, each in its own try: one that fails is logged and the others
still run. Per-instance work inside a sweeper is isolated the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from django.utils import timezone

from whatsapp import doorbell
from whatsapp.services import (
    alerts,
    inbound_media,
    media_fetch,
    message_sweep,
    operations,
    webhook_delivery,
    webhooks,
)
from whatsapp.services.dispatch import instances_with_work

logger = logging.getLogger(__name__)

Sweeper = Callable[[datetime], int]
_sweepers: dict[str, Sweeper] = {}


def register(name: str, sweeper: Sweeper) -> Sweeper:
    """Add (or replace) the sweeper called `name`."""
    _sweepers[name] = sweeper
    return sweeper


def registered() -> dict[str, Sweeper]:
    return dict(_sweepers)


def sweep_all(now: datetime | None = None) -> dict[str, int | str]:
    now = now or timezone.now()
    results: dict[str, int | str] = {}
    for name, sweeper in list(_sweepers.items()):
        try:
            results[name] = sweeper(now)
        except Exception:
            logger.exception("sweep %s failed; the other sweeps still ran", name)
            results[name] = "failed"
    return results


def _operations(now: datetime) -> int:
    result = operations.sweep(now)
    return result["failed"] + result["requeued"]


def _messages(now: datetime) -> int:
    result = message_sweep.sweep(now)
    for message_id in result.to_reconcile:
        doorbell.publish(doorbell.RECONCILE, (str(message_id),))
    moved = result.requeued + result.orphaned + result.expired + result.undelivered
    return moved + len(result.to_reconcile)


def _queued(now: datetime) -> int:
    """Instances with queued messages get a dispatcher doorbell (theirs may have been lost)."""
    ids = instances_with_work()
    for instance_id in ids:
        doorbell.publish(doorbell.DISPATCH, (instance_id,))
    return len(ids)


register("operations", _operations)
register("events", webhooks.sweep)
register("messages", _messages)
register("queued", _queued)
register("media_fetches", media_fetch.sweep)
register("inbound_media", inbound_media.sweep)
register("alerts", alerts.sweep)
register("webhook_deliveries", webhook_delivery.sweep)
