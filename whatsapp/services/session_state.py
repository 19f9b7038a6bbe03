"""The one writer of an instance's session state, with one transition rule.

Operations, the gateway's webhooks, the health recorder and the send path all learn things about
a session; they report them here, and only this module writes the state fields (status,
connected, QR and pairing code, phone, device, errors, reachability). So the rules hold
everywhere:

* `connected` is true exactly when the status is CONNECTED (the dispatcher reads `connected`);
* a QR is kept only while the status is QRCODE, a pairing code only while PHONECODE (a stale QR
  must never be shown, contract §4.1);
* any answer from the gateway clears the unreachable mark; a failure to reach it sets it once,
  with its reason and the time it started;
* a real change of status is announced once, after the commit (`session_changed` listeners:
  the dispatcher's doorbell, and the events of `whatsapp.signals`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from whatsapp import doorbell
from whatsapp.models import Instance
from whatsapp.models.instance import SessionStatus

logger = logging.getLogger(__name__)

WAITING_FOR_USER = (SessionStatus.QRCODE, SessionStatus.PHONECODE)


@dataclass(frozen=True)
class Observed:
    """What was learnt of the session. None leaves a field as it is; "" clears it."""

    status: str
    qr_code: str | None = None
    pairing_code: str | None = None
    phone: str | None = None
    device: dict[str, Any] | None = None
    error: str | None = None
    needs_scan: bool | None = None
    # Why the status changed, when the observer knows: "logout", "close", "phone" (the phone
    # unlinked or lost the connection), "gateway" (it could not be reached), "send".
    reason: str = ""


@dataclass(frozen=True)
class Change:
    instance_id: int
    old_status: str
    new_status: str
    connected: bool
    was_connected: bool
    reason: str
    at: datetime


Listener = Callable[[Change], None]
_listeners: list[Listener] = []


def on_change(listener: Listener) -> Listener:
    """Register `listener(change)`, called in the writer's transaction for every real change."""
    _listeners.append(listener)
    return listener


def observe(instance: Instance | int, observed: Observed, *, reachable: bool = True) -> Instance:
    """Store what was observed; returns the instance as now stored.

    `reachable=True` (the default) means the observation came from the gateway's own answer
    (or its webhook), so the gateway is reachable.
    """
    instance_id = instance if isinstance(instance, int) else instance.pk
    with transaction.atomic():
        row = Instance.objects.locked().get(pk=instance_id)
        now = timezone.now()
        fields = _transition(row, observed, now)
        if reachable:
            fields.update(gateway_error="", unreachable_since=None)
        change = _apply(row, fields, observed.reason, now)
    _copy_back(instance, row)
    if change is not None:
        logger.info(
            "instance %s: %s -> %s%s",
            row.slug,
            change.old_status,
            change.new_status,
            f" ({change.reason})" if change.reason else "",
        )
    return row


def gateway_failed(instance: Instance | int, reason: str, message: str) -> Instance:
    """The gateway could not be asked (refused, timeout, DNS, TLS, an HTTP or protocol error).

    The session's state is unknown, so dispatch pauses; the first failure's time is kept, so
    pages can say since when.
    """
    instance_id = instance if isinstance(instance, int) else instance.pk
    with transaction.atomic():
        row = Instance.objects.locked().get(pk=instance_id)
        now = timezone.now()
        fields = _transition(row, Observed(SessionStatus.UNKNOWN, error=message), now)
        fields["gateway_error"] = reason[:40]
        if row.unreachable_since is None:
            fields["unreachable_since"] = now
        _apply(row, fields, "gateway", now)
    _copy_back(instance, row)
    return row


def note_error(instance: Instance | int, message: str) -> None:
    """A message for people about the session, without any change of state."""
    instance_id = instance if isinstance(instance, int) else instance.pk
    now = timezone.now()
    Instance.objects.filter(pk=instance_id).update(last_error=message, checked_at=now)
    if isinstance(instance, Instance):
        instance.last_error, instance.checked_at = message, now


def mark_needs_scan(instance: Instance | int, message: str) -> None:
    """The login is gone: reconnecting cannot help until a person scans a new QR. The first time
    people are told (an alert email)."""
    from whatsapp.services import alerts  # it listens here: imported late, not in a cycle

    instance_id = instance if isinstance(instance, int) else instance.pk
    with transaction.atomic():
        if Instance.objects.filter(pk=instance_id, needs_scan=False).update(needs_scan=True):
            alerts.notify(alerts.AlertKind.NEEDS_SCAN, instance_id)
        Instance.objects.filter(pk=instance_id).update(needs_scan=True, last_error=message)
    if isinstance(instance, Instance):
        instance.needs_scan, instance.last_error = True, message


def _transition(row: Instance, observed: Observed, now: datetime) -> dict[str, Any]:
    """The one rule: the fields to write when `observed` is learnt about `row`."""
    status = observed.status
    connected = status == SessionStatus.CONNECTED
    fields: dict[str, Any] = {"status": status, "connected": connected, "checked_at": now}
    if status != row.status:
        fields["status_changed_at"] = now
    if connected and not row.connected:
        fields.update(
            connected_since=now,
            needs_scan=False,
            reconnect_attempts=0,
            next_reconnect_at=None,
            last_error="",
        )
    if not connected:
        fields["connected_since"] = None
    qr = observed.qr_code if status == SessionStatus.QRCODE else ""
    code = observed.pairing_code if status == SessionStatus.PHONECODE else ""
    if status == SessionStatus.QRCODE and qr is None:
        qr = row.qr_code  # still waiting for a scan; the last QR stands until a new one comes
    if status == SessionStatus.PHONECODE and code is None:
        code = row.pairing_code
    if (qr and qr != row.qr_code) or (code and code != row.pairing_code):
        fields["code_produced_at"] = now
    fields["qr_code"], fields["pairing_code"] = qr or "", (code or "")[:32]
    for name in ("phone", "device", "needs_scan"):
        value = getattr(observed, name)
        if value is not None:
            fields[name] = value
    if observed.error is not None:
        fields["last_error"] = observed.error
    return fields


def _apply(row: Instance, fields: dict[str, Any], reason: str, now: datetime) -> Change | None:
    change = None
    if fields.get("status", row.status) != row.status:
        change = Change(
            instance_id=row.pk,
            old_status=row.status,
            new_status=fields["status"],
            connected=bool(fields.get("connected", row.connected)),
            was_connected=row.connected,
            reason=reason,
            at=now,
        )
    changed = {k: v for k, v in fields.items() if getattr(row, k) != v or k == "checked_at"}
    Instance.objects.filter(pk=row.pk).update(**changed)
    for name, value in changed.items():
        setattr(row, name, value)
    if change is not None:
        for listener in _listeners:
            listener(change)
    return change


def _copy_back(instance: Instance | int, row: Instance) -> None:
    if isinstance(instance, Instance) and instance is not row:
        for field in Instance._meta.concrete_fields:
            setattr(instance, field.attname, getattr(row, field.attname))


@on_change
def _ring_dispatcher_on_connect(change: Change) -> None:
    # A number that just connected may have messages waiting: send them now, not at beat.
    if change.connected and not change.was_connected:
        doorbell.ring(doorbell.DISPATCH, change.instance_id)
