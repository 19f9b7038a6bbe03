"""Sending, receiving and acknowledging messages on a connected session."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .messages import ack_payload, contact_to_array, incoming_message, sent_message, user_part
from .state import Simulator


@dataclass(frozen=True)
class InboundFile:
    data: bytes
    mimetype: str
    kind: str = "image"
    filename: str = ""
    caption: str = ""


DISCONNECTED = {
    "response": None,
    "status": "Disconnected",
    "message": "A sessão do WhatsApp não está ativa.",
}


def send_text(sim: Simulator, name: str, body: dict[str, Any]) -> tuple[int, Any]:
    """send-message after the connected gate: normalise, check numbers, send, record."""
    is_group = bool(body.get("isGroup"))
    chat_ids = contact_to_array(
        body.get("phone"),
        is_group=is_group,
        is_newsletter=bool(body.get("isNewsletter")),
        is_lid=bool(body.get("isLid")),
    )
    if not is_group:
        for chat_id in chat_ids:
            digits = user_part(chat_id)
            if not sim.number_exists(digits):
                return 400, {
                    "response": None,
                    "status": "Connected",
                    "message": f"O número {digits} não existe.",
                }
    if not chat_ids:
        return 400, "Error sending message"
    text = body.get("message")
    text = "" if text is None else str(text)
    own = sim.own_of(name)
    now = int(time.time())
    sent = []
    for chat_id in chat_ids:
        msg = sent_message(own, chat_id, text, now)
        # Recorded before any drop fault is applied: the ledger is what WhatsApp accepted.
        sim.messages.add(name, msg)
        schedule_acks(sim, name, msg["id"])
        sent.append(msg)
    return 201, {"status": "success", "response": sent, "mapper": "return"}


def schedule_acks(sim: Simulator, name: str, msg_id: str) -> None:
    with sim.lock:
        delivered, read = sim.settings.delivered_after, sim.settings.read_after
    if delivered is not None:
        sim.scheduler.call_later(delivered, lambda: fire_ack(sim, name, msg_id, 2))
    if read is not None:
        sim.scheduler.call_later(read, lambda: fire_ack(sim, name, msg_id, 3))


def fire_ack(sim: Simulator, name: str, msg_id: str, ack: int) -> bool:
    """Delivers one ack; lost (False) when the session is no longer connected."""
    with sim.lock:
        if not sim.is_connected(name):
            return False
        msg = sim.messages.set_ack(name, msg_id, ack)
        if msg is None:
            return False
        sim.webhooks.send(sim.webhook_of(name), "onack", name, ack_payload(msg, ack))
        return True


def receive(
    sim: Simulator,
    name: str,
    phone: str,
    body: str,
    media: InboundFile | None = None,
    **origin: Any,
) -> dict[str, Any] | None:
    """A contact writes to the session: stored in the chat and sent as `onmessage`.

    With `media`, the message describes a file as WhatsApp Web does (type, mimetype, size,
    caption, filename); its bytes stay here for download-media, as with `autoDownload` off.
    `origin` (`lid`, `group`, `quoted`, `push_name`) as `incoming_message` takes them.
    """
    digits = "".join(ch for ch in phone if ch.isdigit())
    with sim.lock:
        if not sim.is_connected(name) or not digits:
            return None
        msg = incoming_message(sim.own_of(name), digits, body, int(time.time()), **origin)
        file = None
        if media is not None:
            msg.update(
                type=media.kind,
                isMedia=True,
                mimetype=media.mimetype,
                size=len(media.data),
                caption=media.caption,
                filename=media.filename,
                # A thumbnail in the real payload; nothing a receiver should keep as text.
                body="",
                content="",
            )
            file = (media.data, media.mimetype)
        sim.messages.add(name, msg, file=file)
        sim.webhooks.send(sim.webhook_of(name), "onmessage", name, msg)
        return msg


def check_number(sim: Simulator, phone: str) -> dict[str, Any] | None:
    chat_ids = contact_to_array(phone)
    if not chat_ids:
        return None
    chat_id = chat_ids[-1]
    digits = user_part(chat_id)
    exists = sim.number_exists(digits)
    return {
        "id": {"server": chat_id.split("@")[1], "user": digits, "_serialized": chat_id},
        "status": 200 if exists else 404,
        "isBusiness": False,
        "canReceiveMessage": exists,
        "numberExists": exists,
    }


def chat_id_of(phone: str) -> str:
    """get-messages passes the path value straight to the library, which accepts bare digits."""
    if "@" in phone:
        return phone
    ids = contact_to_array(phone)
    return ids[0] if ids else phone
