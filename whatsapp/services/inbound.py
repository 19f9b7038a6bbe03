"""Messages people send to our numbers: stored once from each `onmessage` (contract §6).

`store()` is the only place an `InboundMessage` row is created. Listeners registered with
`on_received` are called inside the same transaction, once per message really stored (a repeated
webhook calls nothing), with the new row: where events about a received message
(`message.received`, signals, the inbox) hook in without this module knowing them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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


# Where each type keeps its words (contract §7.2): a caption on files, the place's name on a
# location, the vCard's text on a contact card.
TEXT_FIELD = {"chat": "body", "vcard": "body", "multi_vcard": "body", "location": "loc"}
MAX_TEXT = 65_536  # WhatsApp's own limit on a message's text
_PHONE_SERVERS = ("c.us", "s.whatsapp.net")


@dataclass(frozen=True)
class Party:
    """Who wrote and where a reply goes, each in the form `to` takes."""

    sender: str = ""  # E.164 digits, only for senders named by phone number
    sender_lid: str = ""  # `<digits>@lid`, only for senders named by LID
    chat: str = ""


def _person(wid: str | None) -> tuple[str, str]:
    """(digits, lid) of a contact's id; both empty for anything else (a group, a broadcast)."""
    user, _at, server = (wid or "").partition("@")
    if not user.isdigit() or not 5 <= len(user) <= 25:
        return "", ""
    if server == "lid":
        return "", f"{user}@lid"
    if server in _PHONE_SERVERS and len(user) <= 15:  # E.164 has at most 15 digits
        return user, ""
    return "", ""


def party(payload: dict[str, Any]) -> Party:
    """The sender and the chat of an `onmessage` (contract §7.3): in a group, `from` is the
    group and `author` the person; otherwise `from` is the person."""
    origin = wid_to_str(payload.get("from")) or wid_to_str(payload.get("chatId")) or ""
    sender_obj = payload.get("sender")
    contact = wid_to_str(sender_obj.get("id")) if isinstance(sender_obj, dict) else None
    if origin.endswith("@g.us"):
        digits, lid = _person(wid_to_str(payload.get("author")) or contact)
        return Party(digits, lid, origin)
    digits, lid = _person(origin)
    return Party(digits, lid, digits or lid)


def push_name(payload: dict[str, Any]) -> str:
    sender = payload.get("sender")
    pushname = sender.get("pushname") if isinstance(sender, dict) else None
    return (values.text(payload.get("notifyName"), 100) or values.text(pushname, 100)).strip()


def words(kind: str, payload: dict[str, Any]) -> str:
    """The text a person wrote: the body of a text, the caption of a file. A file's `body` is a
    thumbnail or its base64 (autoDownload), never text."""
    return values.text(payload.get(TEXT_FIELD.get(kind, "caption")), MAX_TEXT)


def store(instance: Instance, payload: dict[str, Any]) -> str:
    """Store an incoming message once; returns what it did, for the event's `outcome`.
    Unstorable characters in its text are replaced, so the message is kept, never dropped."""
    gateway_id = wid_to_str(payload.get("id"))
    if not gateway_id:
        return "onmessage without id"
    kind = values.text(payload.get("type"), 30)
    who = party(payload)
    with transaction.atomic():
        message, created = InboundMessage.objects.get_or_create(
            instance=instance,
            gateway_id=gateway_id,
            defaults={
                "sender": who.sender,
                "sender_lid": who.sender_lid,
                "chat": who.chat,
                "push_name": push_name(payload),
                "body": words(kind, payload),
                "type": kind,
                "quoted_id": wid_to_str(payload.get("quotedMsgId")) or "",
                "sent_at": values.moment(payload.get("t")),
            },
        )
        if not created:
            return "inbound duplicate"
        fetching = inbound_media.note(message, payload) is not None
        for listener in list(_listeners):
            listener(message)
    return "inbound stored; its file is being downloaded" if fetching else "inbound stored"
