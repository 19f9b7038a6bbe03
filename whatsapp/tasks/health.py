from __future__ import annotations

from celery import shared_task

from whatsapp import doorbell
from whatsapp.beat import health_period
from whatsapp.services import health


@shared_task(name="whatsapp.health.record_all")
def record_all_instances() -> None:
    period = health_period()
    for instance_id in health.instances_to_record():
        doorbell.publish(doorbell.RECORD_INSTANCE, (instance_id, period))


@shared_task(name="whatsapp.health.record_instance")
def record_instance(instance_id: int, period: int | None = None) -> None:
    health.record(instance_id, period=period)


@shared_task(name="whatsapp.health.refresh_state")
def refresh_state(instance_id: int) -> None:
    health.refresh(instance_id)


@shared_task(name="whatsapp.health.prune")
def prune_samples() -> int:
    return health.prune()
