from __future__ import annotations

from celery import shared_task

from whatsapp import doorbell
from whatsapp.services import health, operations


@shared_task(name="whatsapp.health.record_all")
def record_all_instances() -> None:
    for instance_id in health.instances_to_record():
        doorbell.ring(doorbell.RECORD_INSTANCE, instance_id)


@shared_task(name="whatsapp.health.record_instance")
def record_instance(instance_id: int) -> None:
    health.record(instance_id)


@shared_task(name="whatsapp.health.refresh_state")
def refresh_state(instance_id: int) -> None:
    health.refresh(instance_id)


@shared_task(name="whatsapp.health.prune")
def prune_samples() -> int:
    return health.prune()


@shared_task(name="whatsapp.health.sweep_operations")
def sweep_operations() -> dict[str, int]:
    return operations.sweep()
