"""How many sends an instance may start now: a random gap between sends and caps per window.

Pacing lives in the database (design principle 5): the dispatcher calls `budget()` while it holds
the instance row locked, so any number of worker processes see the same counts and the same
`next_send_at`.

Caps hold as the gateway sees them. A try counts from its claim until a window after it
*finished*: the gateway received it somewhere between the two, so a window measured from the end
is never shorter than the gateway's. Tries still in flight count, and so do claimed messages not
yet tried. Counting by the start instead let a 13th send reach the gateway 59.6 s after the 1st
under load, with a cap of 12.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Min, Q, QuerySet

from whatsapp.models import Instance, MessageAttempt
from whatsapp.models.instance import MAX_GAP_SECONDS
from whatsapp.models.message import NOT_SENT_OUTCOMES

# With no gap set, pacing is off and several sends may run at once; one per recipient still.
MAX_IN_FLIGHT_UNPACED = 64
# A finishing unpaced send refills the window once no more than this many are left in flight:
# enough to keep a messages worker's processes busy while the refill runs, and low enough that
# each refill claims a large batch, its fixed cost (the lock, the counts, the pick) spread wide.
REFILL_AT = 16
WINDOWS = (("cap_per_minute", 60), ("cap_per_hour", 3600), ("cap_per_day", 86400))


@dataclass(frozen=True)
class Budget:
    slots: int
    # Seconds until a slot frees up by time alone; None when only a finishing send frees one.
    wait: float | None = None


def is_paced(instance: Instance) -> bool:
    return instance.min_gap_seconds > 0 or instance.max_gap_seconds > 0


def next_gap(instance: Instance) -> float:
    # Clamped again here: the database bounds them, but a row read before a bound was added, or
    # a NaN, must not stop the dispatcher.
    low = min(max(0.0, instance.min_gap_seconds or 0.0), float(MAX_GAP_SECONDS))
    high = min(max(low, instance.max_gap_seconds or 0.0), float(MAX_GAP_SECONDS))
    return random.uniform(low, high)


def counted_tries(instance: Instance, since: datetime) -> QuerySet[MessageAttempt]:
    """Tries that may have reached WhatsApp and still count: in flight, or finished since `since`.

    Two short ranges of `attempt_in_flight_idx` and `attempt_window_idx`, never the history.
    """
    return (
        MessageAttempt.objects.filter(instance=instance)
        .filter(Q(finished_at__isnull=True) | Q(finished_at__gte=since))
        .exclude(outcome__in=NOT_SENT_OUTCOMES)
        .order_by()
    )


def sends_since(instance: Instance, since: datetime) -> tuple[int, datetime | None]:
    """How many tries count, and the earliest finish among them (when a slot frees up)."""
    row = counted_tries(instance, since).aggregate(count=Count("id"), first=Min("finished_at"))
    return int(row["count"] or 0), row["first"]


def budget(instance: Instance, now: datetime, *, in_flight: int, dispatched: int) -> Budget:
    """`in_flight`: dispatched + sending; `dispatched`: claimed but not yet tried."""
    paced = is_paced(instance)
    limit = 1 if paced else MAX_IN_FLIGHT_UNPACED
    if in_flight >= limit:
        return Budget(0)
    if paced and instance.next_send_at and instance.next_send_at > now:
        return Budget(0, (instance.next_send_at - now).total_seconds())
    slots = limit - in_flight
    for field, seconds in WINDOWS:
        cap = getattr(instance, field)
        if not cap:
            continue
        used, first = sends_since(instance, now - timedelta(seconds=seconds))
        used += dispatched
        if used >= cap:
            frees_at = (first + timedelta(seconds=seconds)) if first else now + timedelta(seconds=1)
            return Budget(0, max(0.05, (frees_at - now).total_seconds()))
        slots = min(slots, cap - used)
    return Budget(slots)
