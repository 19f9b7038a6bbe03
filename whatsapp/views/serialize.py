"""JSON shapes of instances and operations, shared by the endpoints and the dashboard."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.urls import reverse
from django.utils import timezone

from whatsapp.models import Instance, SessionOperation
from whatsapp.services import outage
from whatsapp.services.errors import render

# WhatsApp Web replaces its QR about every 20 s; the dashboard counts down to the next one.
QR_LIFETIME = timedelta(seconds=20)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def operation_url(operation: SessionOperation) -> str:
    return reverse("whatsapp-operation", args=[operation.instance.slug, operation.pk])


def operation_json(operation: SessionOperation) -> dict[str, Any]:
    result = dict(operation.result or {})
    params = result.pop("error_params", None)
    error = render(operation.error_code, params) if operation.error_code else None
    # Counted from the request, as the person who asked experiences it (a start may run more
    # than once while it waits for the gateway, see services/operations.wait_longer).
    end = operation.finished_at or timezone.now()
    elapsed = round((end - operation.created_at).total_seconds(), 1)
    return {
        "id": operation.pk,
        "kind": operation.kind,
        "status": operation.status,
        "result": result or None,
        "error": error,
        "code": operation.error_code or None,
        "instance": operation.instance.slug,
        # A start with a phone asks for a pairing code instead of a QR.
        "with_phone": bool(operation.phone),
        "requested_by": operation.requested_by.get_username() if operation.requested_by else None,
        "created_at": iso(operation.created_at),
        "started_at": iso(operation.started_at),
        "finished_at": iso(operation.finished_at),
        "elapsed_seconds": elapsed,
        "url": operation_url(operation),
    }


def session_json(instance: Instance) -> dict[str, Any]:
    down = outage.describe(instance)
    return {
        "instance": instance.slug,
        "name": instance.name,
        "enabled": instance.enabled,
        "connected": instance.connected,
        "status": instance.status,
        "status_label": str(instance.get_status_display()),
        "phone": instance.phone or None,
        "device": instance.device or None,
        "has_qrcode": bool(instance.qr_code),
        "pairing_code": instance.pairing_code or None,
        "needs_scan": instance.needs_scan,
        "last_error": instance.last_error or None,
        "checked_at": iso(instance.checked_at),
        "status_changed_at": iso(instance.status_changed_at),
        "connected_since": iso(instance.connected_since),
        # The gateway could not be asked: why, since when, what waits, what to check.
        "outage": down.as_json() if down else None,
    }


def code_json(instance: Instance) -> dict[str, Any]:
    produced = instance.code_produced_at
    return {
        "status": instance.status,
        "qrcode": instance.qr_code or None,
        "pairingCode": instance.pairing_code or None,
        "produced_at": iso(produced),
        "expires_at": iso(produced + QR_LIFETIME) if produced and instance.qr_code else None,
    }
