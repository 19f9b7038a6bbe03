"""Instances: finding them, creating the default one, and recording what we learn of their state."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from whatsapp.gateway import SessionState
from whatsapp.models import Instance
from whatsapp.models.instance import SessionStatus

SESSION_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,60}$")


class InstanceNotFound(LookupError):
    pass


def get_instance(slug: str | None = None) -> Instance:
    """The instance with this slug, or the default one when slug is None."""
    queryset = Instance.objects.all()
    instance = (
        queryset.filter(slug=slug).first() if slug else queryset.filter(is_default=True).first()
    )
    if instance is None:
        if slug:
            raise InstanceNotFound(
                _("There is no WhatsApp instance called “%(slug)s”.") % {"slug": slug}
            )
        raise InstanceNotFound(
            _("No default WhatsApp instance is configured. Run manage.py whatsapp_bootstrap.")
        )
    return instance


def validate_session_name(name: str) -> str | None:
    # It becomes a file name and a Chromium profile folder on the gateway (contract §5).
    if not SESSION_NAME_RE.match(name):
        return _("Use 1 to 60 letters, digits, “-” or “_”.")
    return None


@dataclass(frozen=True)
class BootstrapResult:
    instance: Instance
    created: bool
    changed: list[str]


@transaction.atomic
def bootstrap_default(gateway_url: str, secret_key: str, session_name: str) -> BootstrapResult:
    """Create or update the default instance from configuration; idempotent."""
    instance = Instance.objects.select_for_update().filter(is_default=True).first()
    created = instance is None
    if instance is None:
        slug = slugify(session_name) or "default"
        if Instance.objects.filter(slug=slug).exists():
            slug = f"{slug}-default"
        instance = Instance(slug=slug, name=session_name, is_default=True)
    changed = []
    for field, value in (("gateway_url", gateway_url), ("session_name", session_name)):
        if getattr(instance, field) != value:
            setattr(instance, field, value)
            changed.append(field)
    if secret_key and (not instance.has_secret_key or _secret_differs(instance, secret_key)):
        instance.secret_key = secret_key
        changed.append("secret_key")
    if created or changed:
        instance.save()
    return BootstrapResult(instance=instance, created=created, changed=[] if created else changed)


def _secret_differs(instance: Instance, secret_key: str) -> bool:
    try:
        return instance.secret_key != secret_key
    except Exception:  # unreadable with the current key: replace it with the configured one
        return True


def state_fields(instance: Instance, state: SessionState, now: datetime) -> dict[str, Any]:
    """The instance fields to update after the gateway reported `state`."""
    fields: dict[str, Any] = {
        "status": state.status,
        "connected": state.connected,
        "checked_at": now,
    }
    if state.status != instance.status:
        fields["status_changed_at"] = now
    if state.connected and not instance.connected:
        fields["connected_since"] = now
        fields["needs_scan"] = False
        fields["reconnect_attempts"] = 0
        fields["next_reconnect_at"] = None
        fields["last_error"] = ""
    if not state.connected:
        fields["connected_since"] = None
    if state.status == SessionStatus.QRCODE and state.qrcode and state.qrcode != instance.qr_code:
        fields["qr_code"] = state.qrcode
        fields["code_produced_at"] = now
    if state.status not in (SessionStatus.QRCODE, SessionStatus.PHONECODE):
        # A stale QR must never be shown (contract §4.1).
        fields["qr_code"] = ""
        fields["pairing_code"] = ""
    return fields


def record_state(instance: Instance, state: SessionState, **extra: Any) -> Instance:
    now = timezone.now()
    fields = {**state_fields(instance, state, now), **extra}
    Instance.objects.filter(pk=instance.pk).update(**fields)
    if state.connected and not instance.connected:
        from whatsapp.services.webhooks import ring_dispatcher_on_commit

        ring_dispatcher_on_commit(instance.pk)
    for name, value in fields.items():
        setattr(instance, name, value)
    return instance


def record_error(instance: Instance, message: str) -> None:
    now = timezone.now()
    Instance.objects.filter(pk=instance.pk).update(last_error=message, checked_at=now)
    instance.last_error, instance.checked_at = message, now
