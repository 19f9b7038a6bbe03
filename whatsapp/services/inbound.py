"""Messages people send to our numbers: stored once from each `onmessage` (contract §6).

`store()` is the only place an `InboundMessage` row is created. Listeners registered with
`on_received` are called inside the same transaction, once per message really stored (a repeated
webhook calls nothing), with the new row: where events about a received message
(`message.received`, signals, the inbox) hook in without this module knowing them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction

from whatsapp.gateway import values
from whatsapp.gateway.parse import wid_to_str
from whatsapp.models import InboundMessage, Instance
from whatsapp.services import inbound_media

Listener = Callable[[InboundMessage], None]
_listeners: list[Listener] = []


def on_received(listener: Listener) -> Listener:
    """Register `listener(inbound_message)`, called inside the storing transaction."""
    _listeners.append(listener)
    return listener


def remove_listener(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def store(instance: Instance, payload: dict[str, Any]) -> str:
    """Store an incoming message once; returns what it did, for the event's `outcome`.
    Unstorable characters in its text are replaced, so the message is kept, never dropped."""
    gateway_id = wid_to_str(payload.get("id"))
    if not gateway_id:
        return "onmessage without id"
    kind = values.text(payload.get("type"), 30)
    sender = wid_to_str(payload.get("from")) or ""
    with transaction.atomic():
        message, created = InboundMessage.objects.get_or_create(
            instance=instance,
            gateway_id=gateway_id,
            defaults={
                "sender": sender.split("@")[0][:64],
                "body": values.text(payload.get("body")) if kind == "chat" else "",
                "type": kind,
                "sent_at": values.moment(payload.get("t")),
            },
        )
        if not created:
            return "inbound duplicate"
        fetching = inbound_media.note(message, payload) is not None
        for listener in list(_listeners):
            listener(message)
    return "inbound stored; its file is being downloaded" if fetching else "inbound stored"
