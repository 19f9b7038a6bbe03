"""How many sends an instance may start now: a random gap between sends and caps per window.

Pacing lives in the database (design principle 5): the dispatcher calls `budget()` while it holds
the instance row locked, so any number of worker processes see the same counts and the same
`next_send_at`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Min

from whatsapp.models import Instance, MessageAttempt

# With no gap set, pacing is off and several sends may run at once; one per recipient still.
MAX_IN_FLIGHT_UNPACED = 32
WINDOWS = (("cap_per_minute", 60), ("cap_per_hour", 3600), ("cap_per_day", 86400))
# Tries that prove nothing reached WhatsApp do not use the number's budget.
NOT_SENT_OUTCOMES = ("unreachable", "not_connected", "expired")


@dataclass(frozen=True)
class Budget:
    slots: int
    # Seconds until a slot frees up by time alone; None when only a finishing send frees one.
    wait: float | None = None


def is_paced(instance: Instance) -> bool:
    return instance.min_gap_seconds > 0 or instance.max_gap_seconds > 0


def next_gap(instance: Instance) -> float:
    low = max(0.0, instance.min_gap_seconds)
    high = max(low, instance.max_gap_seconds)
    return random.uniform(low, high)


def sends_since(instance: Instance, since: datetime) -> tuple[int, datetime | None]:
    row = (
        MessageAttempt.objects.filter(message__instance=instance, started_at__gte=since)
        .exclude(outcome__in=NOT_SENT_OUTCOMES)
        .aggregate(count=Count("id"), first=Min("started_at"))
    )
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
