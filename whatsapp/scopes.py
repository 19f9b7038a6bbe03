"""What an API key may do: its scopes (actions) and the instances it may act on.

Every REST route names the one scope it needs (`rest/auth.py`: `auth=needs(Scope.SEND)`), and the
OpenAPI document lists it. Instances are checked where a route touches one
(`whatsapp.access`).

| scope | allows |
| --- | --- |
| `send` | queueing messages (`POST /messages`, `POST /messages/batch`) |
| `read` | reading the messages this key created, and its instances' state |
| `read-all` | reading every message of its instances, whoever created it (with `read`) |
| `cancel` | cancelling the messages it can read |
| `webhooks` | managing outgoing webhook endpoints |
| `sessions` | starting, closing, logging out and refreshing sessions, their QR and pairing codes |
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    SEND = "send", _("Send messages")
    READ = "read", _("Read its own messages and its instances")
    READ_ALL = "read-all", _("Read every message of its instances")
    CANCEL = "cancel", _("Cancel messages")
    WEBHOOKS = "webhooks", _("Manage webhook endpoints")
    SESSIONS = "sessions", _("Manage sessions")


ALL_SCOPES: tuple[str, ...] = tuple(Scope.values)
# What `whatsapp_apikey create` grants when no --scopes is given.
DEFAULT_SCOPES: tuple[str, ...] = (Scope.SEND, Scope.READ)


def parse_scopes(text: str) -> list[str]:
    """`"send, read"` → `["send", "read"]`; ValueError naming what is not a scope."""
    wanted = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [part for part in wanted if part not in ALL_SCOPES]
    if unknown:
        raise ValueError(
            f"unknown scope(s): {', '.join(unknown)}; use some of: {', '.join(ALL_SCOPES)}"
        )
    return sorted(set(wanted), key=ALL_SCOPES.index)
