"""The audit log: who (a user, an API key, a command) did what to which instance or message.

    from whatsapp import audit
    audit.record(audit.actor_of(request), AuditAction.MESSAGE_CANCEL, message=message)

Entries are written in the caller's transaction, so one exists exactly when the action
committed. Model changes give their fields (`audit.changes(form)`), never a secret's value.
Kept `WHATSAPP["AUDIT_RETENTION_DAYS"]` days (pruned with the messages, hourly).
"""

from __future__ import annotations

import getpass
import ipaddress
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django import forms
from django.http import HttpRequest

from whatsapp.conf import conf
from whatsapp.models import ApiKey, AuditEntry, Instance
from whatsapp.models.audit import AuditAction

__all__ = ["Actor", "AuditAction", "actor_of", "changes", "client_address", "record"]

# Form fields whose values are never written down: only that they changed.
SECRET_FIELDS = frozenset({"secret_key", "secret", "signing_secret", "password", "key"})


@dataclass(frozen=True)
class Actor:
    label: str
    user_id: int | None = None
    api_key_id: int | None = None
    address: str | None = None

    @classmethod
    def command(cls) -> Actor:
        try:
            who = getpass.getuser()
        except Exception:  # no user name for this uid (a container): the command is enough
            who = "?"
        return cls(f"command:{who}")


PYTHON = Actor("python")
SYSTEM = Actor("system")


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_address(request: HttpRequest) -> str | None:
    """The client's address: the connection's, or PROXY_COUNT hops back in X-Forwarded-For.

    Only the hops our own proxies appended are trusted; anything left of them the client wrote.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = int(conf.PROXY_COUNT or 0)
    if proxies > 0:
        hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop]
        if len(hops) >= proxies:
            return _valid_ip(hops[-proxies])
    return _valid_ip(remote)


def actor_of(request: HttpRequest) -> Actor:
    address = client_address(request)
    key = getattr(request, "auth", None)
    if isinstance(key, ApiKey):
        return Actor(f"api:{key.name}", api_key_id=key.pk, address=address)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return Actor(user.get_username(), user_id=user.pk, address=address)
    return Actor("anonymous", address=address)


def changes(form: forms.BaseForm, fields: list[str] | None = None) -> dict[str, Any]:
    """{field: [before, after]} of a bound form's changed fields; secrets only as "changed"."""
    out: dict[str, Any] = {}
    for name in fields if fields is not None else form.changed_data:
        if name in SECRET_FIELDS:
            if form.cleaned_data.get(name):
                out[name] = "changed"
            continue
        before, after = form[name].initial, form.cleaned_data.get(name)
        if isinstance(before, list | tuple) or hasattr(after, "all"):
            before, after = _names(before), _names(after)
        out[name] = [_plain(before), _plain(after)]
    return out


def _names(value: Any) -> list[str]:
    items = value.all() if hasattr(value, "all") else value or []
    return sorted(str(item) for item in items)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str | list):
        return value
    return str(value)


def record(
    actor: Actor,
    action: str,
    *,
    instance: Instance | int | None = None,
    message: Any = None,
    target: str = "",
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    """Write one entry. `message` is a message row or its id; `target` names anything else."""
    message_id = getattr(message, "pk", message)
    if instance is None and message is not None and hasattr(message, "instance_id"):
        instance = message.instance_id
    return AuditEntry.objects.create(
        action=action,
        actor=actor.label[:160],
        user_id=actor.user_id,
        api_key_id=actor.api_key_id,
        address=actor.address,
        instance_id=instance.pk if isinstance(instance, Instance) else instance,
        message_id=message_id if isinstance(message_id, UUID | None) else UUID(str(message_id)),
        target=target[:200],
        changes=changes or {},
    )


SESSION_ACTIONS = {
    "start": AuditAction.SESSION_START,
    "close": AuditAction.SESSION_CLOSE,
    "logout": AuditAction.SESSION_LOGOUT,
}
