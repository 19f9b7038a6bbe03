"""The beat schedule, written to django-celery-beat's tables after migrate.

Entries are created when missing and never overwritten: an operator's edits in the admin win.
Each has `expires`, so ticks that piled up while workers were down are dropped, not replayed.
Entries of tasks that no longer exist are removed. Every entry's task runs on the housekeeping
queue (whatsapp/queues.py), which message traffic cannot delay.
"""

from __future__ import annotations

from dataclasses import dataclass

from whatsapp.conf import conf


@dataclass(frozen=True)
class Entry:
    name: str
    task: str
    every_seconds: int
    expires_seconds: int


RECORD_HEALTH = "whatsapp.health.record_all"
# Tasks of earlier versions, replaced by the housekeeping ones below.
RETIRED_TASKS = (
    "whatsapp.health.sweep_operations",
    "whatsapp.messages.sweep",
    "whatsapp.messages.dispatch",
)


def entries() -> list[Entry]:
    health = conf.HEALTH_INTERVAL
    return [
        Entry("whatsapp: record session health", RECORD_HEALTH, health, health),
        Entry("whatsapp: prune health samples", "whatsapp.health.prune", 3600, 1800),
        Entry("whatsapp: dispatch messages", "whatsapp.housekeeping.dispatch_all", 5, 5),
        Entry("whatsapp: sweep", "whatsapp.housekeeping.sweep", 30, 30),
        Entry("whatsapp: prune messages and events", "whatsapp.housekeeping.prune", 3600, 1800),
    ]


def health_period() -> int:
    """The recorder's period as beat runs it: an operator may have changed the entry."""
    from django_celery_beat.models import PeriodicTask

    every = (
        PeriodicTask.objects.filter(task=RECORD_HEALTH, enabled=True, interval__period="seconds")
        .order_by("interval__every")
        .values_list("interval__every", flat=True)
        .first()
    )
    return int(every or conf.HEALTH_INTERVAL)


def ensure_schedule() -> list[str]:
    """Create the missing periodic tasks; return the names created."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    PeriodicTask.objects.filter(task__in=RETIRED_TASKS).delete()
    created = []
    for entry in entries():
        if PeriodicTask.objects.filter(name=entry.name).exists():
            continue
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=entry.every_seconds, period=IntervalSchedule.SECONDS
        )
        PeriodicTask.objects.create(
            name=entry.name,
            task=entry.task,
            interval=interval,
            expire_seconds=entry.expires_seconds,
        )
        created.append(entry.name)
    return created
