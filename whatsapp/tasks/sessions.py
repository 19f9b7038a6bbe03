from __future__ import annotations

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from whatsapp.models import SessionOperation
from whatsapp.models.operation import OperationStatus
from whatsapp.services import operations


@shared_task(name="whatsapp.sessions.run_operation")
def run_session_operation(operation_id: int) -> None:
    try:
        operations.run(operation_id)
    except SoftTimeLimitExceeded:
        operation = SessionOperation.objects.filter(
            pk=operation_id, status=OperationStatus.RUNNING
        ).first()
        if operation is not None:
            operations.fail(operation, "time_limit")
