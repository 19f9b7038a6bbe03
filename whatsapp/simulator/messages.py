"""Message shapes, phone normalisation and the record of what was sent."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from typing import Any

_NOT_WORD_OR_SPACE = re.compile(r"[^\w ]", re.ASCII)
_LIST_SEPARATOR = re.compile(r"\s*[,;]\s*")
# A number that "is not on WhatsApp" unless a test says otherwise: easy to spot in fixtures.
UNKNOWN_SUFFIX = "0000000"


def contact_to_array(
    phone: Any, *, is_group: bool = False, is_newsletter: bool = False, is_lid: bool = False
) -> list[str]:
    """The server's contactToArray: the chat ids it will address, in order."""
    if phone is None:
        return []
    if isinstance(phone, list):
        entries = [str(p) for p in phone]
    else:
        entries = _LIST_SEPARATOR.split(str(phone))
    ids = []
    for entry in entries:
        contact = entry.split("@")[0]
        if not (is_group or is_newsletter):
            # JavaScript's \w is ASCII-only and the server keeps spaces (which then break the id).
            contact = _NOT_WORD_OR_SPACE.sub("", contact)
        if contact == "":
            continue
        if is_group:
            ids.append(f"{contact}@g.us")
        elif is_newsletter:
            ids.append(f"{contact}@newsletter")
        elif is_lid or len(contact) > 14:
            ids.append(f"{contact}@lid")
        else:
            ids.append(f"{contact}@c.us")
    return ids


def user_part(chat_id: str) -> str:
    return chat_id.split("@")[0]


def own_number(session: str) -> str:
    digest = int(hashlib.sha256(session.encode("utf-8")).hexdigest(), 16)
    return f"55219{digest % 10**8:08d}"


def _msg_key() -> str:
    return "3EB0" + secrets.token_hex(10).upper()


def sent_message(own: str, to: str, body: str, t: int) -> dict[str, Any]:
    key = _msg_key()
    msg_id = f"true_{to}_{key}"
    me = f"{own}@c.us"
    return {
        "id": msg_id,
        "ack": 1,
        "body": body,
        "content": body,
        "type": "chat",
        "t": t,
        "timestamp": t,
        "from": me,
        "to": to,
        "chatId": to,
        "self": "out",
        "fromMe": True,
        "isNewMsg": True,
        "isGroupMsg": False,
        "isMedia": False,
        "isNotification": False,
        "sender": {
            "id": me,
            "pushname": "Simulator",
            "type": "in",
            "isMe": True,
            "isUser": True,
            "isWAContact": True,
            "formattedName": "You",
        },
        "mediaData": {},
    }


def incoming_message(
    own: str,
    phone: str,
    body: str,
    t: int,
    *,
    lid: bool = False,
    group: str = "",
    quoted: str = "",
    push_name: str = "",
) -> dict[str, Any]:
    """An `onmessage` as WhatsApp Web serialises it (contract §6, §7.3): from a phone number
    (`…@c.us`) or a LID (`…@lid`), in a one-to-one chat or a group (`from` the group, `author`
    the person), replying to `quoted` or not."""
    person = f"{phone}@{'lid' if lid else 'c.us'}"
    chat = group or person
    key = secrets.token_hex(10).upper()
    msg_id = f"false_{chat}_{key}_{person}" if group else f"false_{chat}_{key}"
    name = push_name or f"Contact {phone}"
    msg: dict[str, Any] = {
        "id": msg_id,
        "ack": 1,
        "body": body,
        "content": body,
        "type": "chat",
        "t": t,
        "timestamp": t,
        "notifyName": name,
        "from": chat,
        "to": f"{own}@c.us",
        "chatId": chat,
        "self": "in",
        "fromMe": False,
        "isNewMsg": True,
        "isGroupMsg": bool(group),
        "isMedia": False,
        "isNotification": False,
        "sender": {
            "id": person,
            "pushname": name,
            "type": "in",
            "isMe": False,
            "isUser": True,
            "isWAContact": True,
            "isMyContact": False,
            "formattedName": name if lid else f"+{phone}",
        },
        "mediaData": {},
    }
    if group:
        msg["author"] = person
    if quoted:
        msg["quotedMsgId"] = quoted
        msg["quotedStanzaID"] = quoted.split("_")[2] if quoted.count("_") >= 2 else quoted
    return msg


def ack_payload(msg: dict[str, Any], ack: int) -> dict[str, Any]:
    """onack carries the message model, whose `id` is an object, not send-message's string."""
    key = msg["id"].rsplit("_", 1)[1]
    return {
        "id": {
            "fromMe": msg["fromMe"],
            "remote": msg["chatId"],
            "id": key,
            "_serialized": msg["id"],
        },
        "ack": ack,
        "body": msg["body"],
        "type": msg["type"],
        "t": msg["t"],
        "from": msg["from"],
        "to": msg["to"],
        "self": msg["self"],
        "isNewMsg": False,
    }


class MessageStore:
    """Chat history per session (for the look-up routes) and the ledger of accepted sends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[tuple[str, str], dict[str, Any]] = {}
        self._chats: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._ledger: list[dict[str, Any]] = []
        # The bytes of media messages, for download-media: (session, id) -> (bytes, mimetype).
        self._files: dict[tuple[str, str], tuple[bytes, str]] = {}

    def add(
        self,
        session: str,
        msg: dict[str, Any],
        *,
        route: str = "send-message",
        file: tuple[bytes, str] | None = None,
    ) -> None:
        """Keep a message; ours also go to the ledger with what the route was given."""
        with self._lock:
            self._by_id[(session, msg["id"])] = msg
            self._chats.setdefault((session, msg["chatId"]), []).append(msg)
            if file is not None:
                self._files[(session, msg["id"])] = file
            if msg["fromMe"]:
                data = file[0] if file else None
                self._ledger.append(
                    {
                        "id": msg["id"],
                        "session": session,
                        "phone": user_part(msg["to"]),
                        "to": msg["to"],
                        "body": msg["body"] if not data else "",
                        "t": time.time(),
                        "route": route,
                        "type": msg["type"],
                        "is_group": msg["to"].endswith("@g.us"),
                        "caption": msg.get("caption", ""),
                        "filename": msg.get("filename", ""),
                        "mimetype": msg.get("mimetype", ""),
                        "size": len(data) if data is not None else None,
                        "sha256": hashlib.sha256(data).hexdigest() if data is not None else None,
                        "quoted": msg.get("quotedMsgId", ""),
                        "lat": msg.get("lat"),
                        "lng": msg.get("lng"),
                    }
                )

    def file(self, session: str, msg_id: str) -> tuple[bytes, str] | None:
        with self._lock:
            return self._files.get((session, msg_id))

    def get(self, session: str, msg_id: str) -> dict[str, Any] | None:
        with self._lock:
            msg = self._by_id.get((session, msg_id))
            return dict(msg) if msg else None

    def find(self, msg_id: str) -> tuple[str, dict[str, Any]] | None:
        with self._lock:
            for (session, mid), msg in self._by_id.items():
                if mid == msg_id:
                    return session, msg
        return None

    def set_ack(self, session: str, msg_id: str, ack: int) -> dict[str, Any] | None:
        with self._lock:
            msg = self._by_id.get((session, msg_id))
            if msg is None:
                return None
            # An error ack (-1, WhatsApp refused it) replaces any level; others only rise.
            msg["ack"] = ack if ack < 0 else max(msg["ack"], ack)
            return dict(msg)

    def chat(self, session: str, chat_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(m) for m in self._chats.get((session, chat_id), [])]

    def sends(self) -> int:
        """How many sends the ledger holds: a count that costs nothing to poll."""
        return len(self._ledger)

    def ledger(self, phone: str | None = None, message: str | None = None) -> list[dict[str, Any]]:
        digits = re.sub(r"\D", "", phone) if phone else None
        with self._lock:
            return [
                dict(entry)
                for entry in self._ledger
                if (digits is None or entry["phone"] == digits)
                and (message is None or message in entry["body"] or message in entry["caption"])
            ]

    def clear(self) -> None:
        with self._lock:
            self._by_id.clear()
            self._chats.clear()
            self._ledger.clear()
            self._files.clear()
