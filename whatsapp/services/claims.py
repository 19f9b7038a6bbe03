"""Claiming background work rows (`ClaimedWork`): the token-and-lease shape of `send.claim`.

A worker claims a pending row with a conditional update that sets a fresh token and a lease;
every later write names that token, so a second delivery of the same task (or a worker that
lost its lease) changes nothing. The sweep sends back to pending what a dead worker held, and
rings again for pending rows whose doorbell was lost.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from whatsapp import doorbell
from whatsapp.models.media import ClaimedWork, WorkState

Row = TypeVar("Row", bound=ClaimedWork)


def claim(model: type[Row], pk: Any, lease: timedelta) -> tuple[Row, uuid.UUID] | None:
    """pending → running for exactly one worker; None when another has it or it is done."""
    token = uuid.uuid4()
    now = timezone.now()
    claimed = model._default_manager.filter(pk=pk, state=WorkState.PENDING).update(
        state=WorkState.RUNNING,
        token=token,
        lease_expires_at=now + lease,
        attempts=F("attempts") + 1,
        updated_at=now,
    )
    if not claimed:
        return None
    return model._default_manager.get(pk=pk), token


def finish(model: type[ClaimedWork], pk: Any, token: uuid.UUID, state: str, **fields: Any) -> bool:
    """running (with this token) → done, failed or pending again; False when the claim is lost."""
    now = timezone.now()
    ended = {"finished_at": now} if state in (WorkState.DONE, WorkState.FAILED) else {}
    return (
        model._default_manager.filter(pk=pk, state=WorkState.RUNNING, token=token).update(
            state=state, lease_expires_at=None, updated_at=now, **ended, **fields
        )
        == 1
    )


def sweep(
    model: type[ClaimedWork],
    now: datetime,
    *,
    task: str,
    grace: timedelta,
    max_attempts: int,
    on_failed: Callable[[list[Any]], None] | None = None,
    batch: int = 500,
) -> int:
    """Rows a lost worker held go back to pending (or fail after max_attempts); pending rows
    untouched for `grace` are rung again. Returns how many rows it acted on."""
    manager = model._default_manager
    lost = Q(state=WorkState.RUNNING, lease_expires_at__lt=now)
    worn = list(manager.filter(lost, attempts__gte=max_attempts).values_list("pk", flat=True))
    if worn:
        manager.filter(lost, pk__in=worn).update(
            state=WorkState.FAILED,
            error=_("The worker doing this stopped, several times; given up."),
            finished_at=now,
            lease_expires_at=None,
            updated_at=now,
        )
        if on_failed is not None:
            on_failed(worn)
    released = list(
        manager.filter(lost, attempts__lt=max_attempts).values_list("pk", flat=True)[:batch]
    )
    manager.filter(lost, pk__in=released).update(
        state=WorkState.PENDING, lease_expires_at=None, updated_at=now
    )
    due = manager.filter(state=WorkState.PENDING, updated_at__lt=now - grace)
    stale = list(due.order_by("updated_at").values_list("pk", flat=True)[:batch])
    for pk in [*released, *stale]:
        doorbell.publish(task, (str(pk),))
    return len(worn) + len(released) + len(stale)
