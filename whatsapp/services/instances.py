"""Instances: finding them, creating the default one, and recording what we learn of their state."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from whatsapp.models import Instance

SESSION_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,60}$")


class InstanceNotFound(LookupError):
    pass


def get_instance(slug: str | None = None) -> Instance:
    """The instance with this slug, or the default one when slug is None."""
    queryset = Instance.objects.all()
    if slug and "\x00" in slug:
        slug = slug.replace("\x00", "")  # PostgreSQL cannot even compare text holding NUL
        raise InstanceNotFound(
            _("There is no WhatsApp instance called “%(slug)s”.") % {"slug": slug}
        )
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
    instance = Instance.objects.locked().filter(is_default=True).first()
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
    # A changed gateway or session name needs its secret again (Instance.save clears the old one).
    moved = bool(changed) and not created
    if secret_key and (
        moved or not instance.has_secret_key or _secret_differs(instance, secret_key)
    ):
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
