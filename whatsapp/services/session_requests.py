"""Asking for a session operation: the rules the dashboard, the REST and the Python APIs share.

An instance must be enabled and have its gateway secret; a start may carry a phone for a pairing
code. The operation itself is recorded by `operations.request_operation` (one active per kind)
and run by a worker: nothing here waits on the gateway.
"""

from __future__ import annotations

import base64
import binascii
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from whatsapp import audit, doorbell
from whatsapp.models import Instance, SessionOperation
from whatsapp.models.instance import SessionStatus
from whatsapp.models.operation import OperationKind
from whatsapp.phones import normalize
from whatsapp.services.errors import render
from whatsapp.services.operations import request_operation

# Older stored state triggers one background refresh, shared by every poller of the instance.
STALE_AFTER = timedelta(seconds=5)
REFRESH_LOCK_SECONDS = 10
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DATA_URL_PREFIX = "data:image/png;base64,"


class SessionRequestRefused(Exception):
    """The instance cannot take operations now: `code` is instance_disabled or not_configured."""

    def __init__(self, code: str) -> None:
        super().__init__(render(code))
        self.code = code


def request(
    instance: Instance,
    kind: str,
    *,
    user: Any = None,
    phone: object = None,
    actor: audit.Actor = audit.PYTHON,
) -> tuple[SessionOperation, bool]:
    """The operation (new, or the active one of its kind) and whether it was created.

    Raises SessionRequestRefused, or InvalidPhone for a start with a phone that is not one.
    A new start, close or logout is written to the audit log as `actor`'s.
    """
    if not instance.enabled:
        raise SessionRequestRefused("instance_disabled")
    if not instance.has_secret_key:
        raise SessionRequestRefused("not_configured")
    number = ""
    if kind == OperationKind.START and phone not in (None, ""):
        number = normalize(phone)
    with transaction.atomic():
        operation, created = request_operation(instance, kind, user=user, phone=number)
        if created and kind in audit.SESSION_ACTIONS:
            audit.record(
                actor, audit.SESSION_ACTIONS[kind], instance=instance, target=f"#{operation.pk}"
            )
    return operation, created


def qr_png(instance: Instance) -> bytes | None:
    """The QR the session is waiting to have scanned, as PNG bytes; None when there is none.

    The gateway sends it as a data URL; its bytes are only passed on when they are a PNG.
    """
    if instance.status != SessionStatus.QRCODE or not instance.qr_code:
        return None
    data = instance.qr_code
    if data.startswith(DATA_URL_PREFIX):
        data = data[len(DATA_URL_PREFIX) :]
    try:
        png = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None
    return png if png.startswith(PNG_SIGNATURE) else None


def ask_for_refresh(instance: Instance) -> bool:
    """Ring for one refresh when the stored state is stale; a cache lock makes it one per period."""
    fresh = instance.checked_at and timezone.now() - instance.checked_at < STALE_AFTER
    if fresh or not instance.enabled or not instance.has_secret_key:
        return False
    if not cache.add(f"whatsapp:refresh:{instance.pk}", 1, REFRESH_LOCK_SECONDS):
        return False
    # A dead broker must not turn a status read into an error: the doorbell never raises.
    return doorbell.publish(doorbell.REFRESH_STATE, (instance.pk,))
