"""The beat schedule, written to django-celery-beat's tables after migrate.

Entries are created when missing and never overwritten: an operator's edits in the admin win.
Each has `expires`, so ticks that piled up while workers were down are dropped, not replayed.
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


def entries() -> list[Entry]:
    health = conf.HEALTH_INTERVAL
    return [
        Entry("whatsapp: record session health", "whatsapp.health.record_all", health, health),
        Entry("whatsapp: sweep session operations", "whatsapp.health.sweep_operations", 30, 30),
        Entry("whatsapp: prune health samples", "whatsapp.health.prune", 3600, 1800),
        Entry("whatsapp: dispatch messages", "whatsapp.messages.dispatch", 5, 5),
        Entry("whatsapp: sweep messages", "whatsapp.messages.sweep", 30, 30),
    ]


def ensure_schedule() -> list[str]:
    """Create the missing periodic tasks; return the names created."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

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
