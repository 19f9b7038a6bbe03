"""Session operations: recorded by the web request, run by a worker, polled by the browser."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from whatsapp import doorbell
from whatsapp.crypto import SecretUnreadable
from whatsapp.gateway import GatewayError
from whatsapp.models import Instance, SessionOperation
from whatsapp.models.operation import ACTIVE_STATUSES, OperationKind, OperationStatus
from whatsapp.services import session_flows
from whatsapp.services.errors import OperationFailed, from_gateway, render

logger = logging.getLogger(__name__)

# A running operation older than the sessions queue's hard time limit was lost with its worker.
RUNNING_GRACE = timedelta(seconds=150)
# A pending one older than this lost its doorbell (broker down at enqueue): ring again.
PENDING_GRACE = timedelta(seconds=20)
# A start that waits for the gateway's current QR (or pairing code) to expire before switching
# method runs again every few seconds, for at most this long (WPPConnect's autoClose is 60 s by
# default, 300 s in docker-compose.yml).
SWITCH_RETRY_SECONDS = 3
SWITCH_MAX_WAIT = timedelta(minutes=10)


def request_operation(
    instance: Instance,
    kind: str,
    *,
    user: Any = None,
    phone: str = "",
) -> tuple[SessionOperation, bool]:
    """Record an operation, ring a worker on commit; an active one of the kind is returned."""
    existing = active_operation(instance, kind)
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            operation = SessionOperation.objects.create(
                instance=instance,
                kind=kind,
                requested_by_id=user.pk if user is not None and user.is_authenticated else None,
                phone=phone,
            )
            doorbell.ring(doorbell.RUN_OPERATION, operation.pk)
    except IntegrityError:
        # Lost the race with a concurrent request: the database kept exactly one.
        existing = active_operation(instance, kind)
        if existing is None:
            raise
        return existing, False
    return operation, True


def active_operation(instance: Instance, kind: str) -> SessionOperation | None:
    return (
        SessionOperation.objects.filter(instance=instance, kind=kind, status__in=ACTIVE_STATUSES)
        .order_by("-created_at")
        .first()
    )


def claim(operation_id: int) -> SessionOperation | None:
    """pending -> running for exactly one worker; None when another has it or it is finished."""
    now = timezone.now()
    claimed = SessionOperation.objects.filter(
        pk=operation_id, status=OperationStatus.PENDING
    ).update(status=OperationStatus.RUNNING, started_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return None
    return SessionOperation.objects.select_related("instance").get(pk=operation_id)


def finish(operation: SessionOperation, result: dict[str, Any]) -> None:
    SessionOperation.objects.filter(pk=operation.pk, status=OperationStatus.RUNNING).update(
        status=OperationStatus.SUCCEEDED, result=result, finished_at=timezone.now()
    )


def fail(operation: SessionOperation, code: str, params: dict[str, Any] | None = None) -> None:
    params = {k: v for k, v in (params or {}).items() if isinstance(v, str | int | float | None)}
    SessionOperation.objects.filter(pk=operation.pk, status__in=ACTIVE_STATUSES).update(
        status=OperationStatus.FAILED,
        error=render(code, params),
        error_code=code,
        result={"error_params": params},
        finished_at=timezone.now(),
    )


def wait_longer(operation: SessionOperation) -> None:
    """Back to pending and rung again shortly; failed once it has waited too long."""
    if timezone.now() - operation.created_at > SWITCH_MAX_WAIT:
        fail(operation, "switch_timed_out", {"minutes": int(SWITCH_MAX_WAIT.total_seconds() // 60)})
        return
    SessionOperation.objects.filter(pk=operation.pk, status=OperationStatus.RUNNING).update(
        status=OperationStatus.PENDING
    )
    doorbell.publish(doorbell.RUN_OPERATION, (operation.pk,), countdown=SWITCH_RETRY_SECONDS)


FLOWS = {
    OperationKind.START: session_flows.start,
    OperationKind.CLOSE: session_flows.close,
    OperationKind.LOGOUT: session_flows.logout,
    OperationKind.REFRESH: session_flows.refresh,
}


def run(operation_id: int) -> None:
    operation = claim(operation_id)
    if operation is None:
        return
    try:
        result = FLOWS[OperationKind(operation.kind)](operation)
    except session_flows.WaitLonger:
        wait_longer(operation)
    except OperationFailed as failed:
        fail(operation, failed.code, failed.params)
    except GatewayError as exc:
        mapped = from_gateway(exc)
        fail(operation, mapped.code, mapped.params)
    except SecretUnreadable:
        fail(operation, "secret_unreadable")
    except Exception:
        logger.exception("session operation %s crashed", operation_id)
        fail(operation, "gateway_error", {"status": None, "detail": "internal error"})
        raise
    else:
        finish(operation, result)


def sweep(now: datetime | None = None) -> dict[str, int]:
    """Re-ring pending operations whose doorbell was lost; fail running ones whose worker died."""
    now = now or timezone.now()
    lost = SessionOperation.objects.filter(
        status=OperationStatus.RUNNING, started_at__lt=now - RUNNING_GRACE
    )
    failed = 0
    for operation in lost:
        fail(operation, "worker_lost")
        failed += 1
    rerung = 0
    for pk in SessionOperation.objects.filter(
        status=OperationStatus.PENDING, created_at__lt=now - PENDING_GRACE
    ).values_list("pk", flat=True):
        doorbell.publish(doorbell.RUN_OPERATION, (pk,))
        rerung += 1
    return {"failed": failed, "requeued": rerung}
