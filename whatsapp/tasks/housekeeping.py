"""Periodic housekeeping, on its own queue so that message traffic cannot starve it."""

from __future__ import annotations

from celery import shared_task

from whatsapp.services import dispatch, pruning, sweeps
from whatsapp.tasks.messages import dispatch_each


@shared_task(name="whatsapp.housekeeping.dispatch_all")
def dispatch_all() -> int:
    """Beat's dispatcher: every instance with queued messages, each on its own."""
    return dispatch_each(dispatch.instances_with_work())


@shared_task(name="whatsapp.housekeeping.sweep")
def sweep() -> dict[str, int | str]:
    return sweeps.sweep_all()


@shared_task(name="whatsapp.housekeeping.prune")
def prune() -> dict[str, int]:
    return pruning.prune()
