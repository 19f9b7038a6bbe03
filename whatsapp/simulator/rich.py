"""Rich sends and media downloads, after the connected gate (companion contract §2, §3.2).

Each route behaves as the server's handler does for the inputs a client sends: the same body
fields, the same normalisation of recipients (`isGroup` read as JavaScript truthiness, so the
string "false" means a group), the same refusals (raw base64 on send-file-base64, a data URL with
parameters, no file at all), the same answer shapes (a list of `{ack, id}`, contact-vcard's one
object with 200, send-reply's full message with object ids).
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import time
from typing import Any

import filetype

from . import chat
from .messages import contact_to_array, sent_message, user_part
from .state import Simulator

SEND_FAILED = "Erro ao enviar a mensagem."
FILE_KINDS = ("image", "video", "audio", "document")
# wa-js errors after the server's logger saw them (§1.7).
PAGE_ERROR = {"name": "r", "level": "error"}
VCARD_FAILED = {"status": "error", "message": "Error on send contact vcard", "error": PAGE_ERROR}


def _truthy(value: Any) -> bool:
    """JavaScript truthiness of a JSON value (§1.3)."""
    return value not in (None, False, 0, "", 0.0)


def _family_a_error(error: Any) -> tuple[int, Any]:
    return 500, {"status": "Error", "message": SEND_FAILED, "error": error}


def _recipients(sim: Simulator, body: dict[str, Any]) -> tuple[list[str], tuple[int, Any] | None]:
    """contactToArray, then the number check of the gate (§1.2)."""
    is_group = _truthy(body.get("isGroup"))
    ids = contact_to_array(
        body.get("phone"),
        is_group=is_group,
        is_newsletter=_truthy(body.get("isNewsletter")),
        is_lid=_truthy(body.get("isLid")),
    )
    if not is_group:
        for chat_id in ids:
            digits = user_part(chat_id)
            if chat_id.endswith("@c.us") and not sim.number_exists(digits):
                message = f"O número {digits} não existe."
                return ids, (400, {"response": None, "status": "Connected", "message": message})
    if not ids:
        return ids, (400, "Error sending message")
    return ids, None


def _data_url(value: Any) -> tuple[bytes, str] | str:
    """(bytes, mimetype) of a data URL, or the library's error for what it cannot read."""
    if not isinstance(value, str) or not value.startswith("data:"):
        return "empty_file"  # raw base64 is read as a server path, which does not exist
    header, comma, data = value.partition(",")
    mime = header[5:].removesuffix(";base64")
    if not comma or "; " in mime or not header.endswith(";base64"):
        return "invalid_data_url"
    try:
        return base64.b64decode(data, validate=True), mime
    except (binascii.Error, ValueError):
        return "invalid_data_url"


def _kind_of(mime: str) -> str:
    for prefix in ("image", "video", "audio"):
        if mime.startswith(prefix + "/"):
            return prefix
    return "document"


def _record(
    sim: Simulator,
    name: str,
    chat_ids: list[str],
    route: str,
    fields: dict[str, Any],
    file: tuple[bytes, str] | None = None,
) -> list[dict[str, Any]]:
    own = sim.own_of(name)
    now = int(time.time())
    sent = []
    text = str(fields.get("body") or "")
    for chat_id in chat_ids:
        msg = sent_message(own, chat_id, text, now)
        msg.update({key: value for key, value in fields.items() if key != "body"})
        msg["isGroupMsg"] = chat_id.endswith("@g.us")
        # Recorded before any drop fault: the ledger is what WhatsApp accepted.
        sim.messages.add(name, msg, route=route, file=file)
        chat.schedule_acks(sim, name, msg["id"])
        sent.append(msg)
    return sent


def _accepted(sent: list[dict[str, Any]]) -> tuple[int, Any]:
    answer = [{"ack": m["ack"], "id": m["id"]} for m in sent]
    return 201, {"status": "success", "response": answer, "mapper": "return"}


def _media_fields(data: bytes, mime: str, kind: str, filename: str, caption: str) -> dict[str, Any]:
    return {
        "type": kind,
        "isMedia": True,
        "mimetype": mime,
        "size": len(data),
        "filename": filename,
        "caption": caption,
    }


def send_file(
    sim: Simulator, name: str, body: dict[str, Any], files: dict[str, Any]
) -> tuple[int, Any]:
    """send-file-base64 / send-file / send-image: one handler, `messageController.sendFile`."""
    chat_ids, refused = _recipients(sim, body)
    if refused:
        return refused
    upload = files.get("file")
    if body.get("path"):
        return _family_a_error({"code": "empty_file", "level": "error"})  # no fetching here
    if body.get("base64"):
        decoded = _data_url(body["base64"])
        if decoded == "invalid_data_url":
            return _family_a_error(decoded)  # a string thrown in the page (§1.7)
        if isinstance(decoded, str):
            return _family_a_error({"code": decoded, "level": "error"})
        data, mime = decoded
    elif upload is not None:
        filename, _ctype, data = upload
        # The part's Content-Type is ignored: the extension of the saved file counts (§2.1).
        mime = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    else:
        return 401, {"message": "Sending the file is mandatory"}
    options = body.get("options")
    forced = options.get("type") if isinstance(options, dict) else None
    kind = str(forced) if forced in FILE_KINDS else _kind_of(mime)
    caption = str(body.get("message") or body.get("caption") or "")
    fields = _media_fields(data, mime, kind, str(body.get("filename") or "file"), caption)
    if body.get("quotedMessageId"):
        fields["quotedMsgId"] = str(body["quotedMessageId"])
    route = "send-file-base64" if body.get("base64") else "send-file"
    return _accepted(_record(sim, name, chat_ids, route, fields, (data, mime)))


def send_voice_base64(sim: Simulator, name: str, body: dict[str, Any]) -> tuple[int, Any]:
    """A voice note from a data URL or raw base64 (sniffed in the page, §2.3)."""
    chat_ids, refused = _recipients(sim, body)
    if refused:
        return refused
    raw = body.get("base64Ptt")
    decoded = _data_url(raw)
    if isinstance(decoded, str):
        try:
            data = base64.b64decode(str(raw or ""), validate=True)
        except (binascii.Error, ValueError):
            return _family_a_error(PAGE_ERROR)
        guess = filetype.guess(data)
        decoded = data, guess.mime if guess else "application/octet-stream"
    data, mime = decoded
    if not data:
        return _family_a_error(PAGE_ERROR)
    fields = _media_fields(data, mime, "ptt", "Voice Audio", "")
    if body.get("quotedMessageId"):
        fields["quotedMsgId"] = str(body["quotedMessageId"])
    return _accepted(_record(sim, name, chat_ids, "send-voice-base64", fields, (data, mime)))


def _float(value: Any) -> float | None:
    try:
        number = float(value)  # JavaScript's parseFloat, near enough for numbers and their text
    except (TypeError, ValueError):
        return None
    return number if number == number else None


def send_location(sim: Simulator, name: str, body: dict[str, Any]) -> tuple[int, Any]:
    chat_ids, refused = _recipients(sim, body)
    if refused:
        return refused
    lat, lng = _float(body.get("lat")), _float(body.get("lng"))
    if lat is None or lng is None:
        return _family_a_error(PAGE_ERROR)
    text = "\n".join(str(body[k]) for k in ("title", "address") if body.get(k))
    fields = {"type": "location", "lat": lat, "lng": lng, "loc": text, "body": text}
    return _accepted(_record(sim, name, chat_ids, "send-location", fields))


def contact_vcard(sim: Simulator, name: str, body: dict[str, Any]) -> tuple[int, Any]:
    """One card for the last recipient, answered 200 with one object (§2.6)."""
    chat_ids, refused = _recipients(sim, body)
    if refused:
        return refused
    contacts = body.get("contactsId")
    if isinstance(contacts, list):
        contacts = ",".join(str(c) for c in contacts)  # one id expected: a list is joined
    contact = str(contacts or "")
    if not contact or "," in contact:
        return 500, VCARD_FAILED
    card_name = str(body.get("name") or contact.split("@")[0])
    number = contact.split("@")[0]
    vcard = f"BEGIN:VCARD\nVERSION:3.0\nFN:{card_name}\nTEL;waid={number}:+{number}\nEND:VCARD"
    fields = {"type": "vcard", "vcardFormattedName": card_name, "body": vcard}
    sent = _record(sim, name, chat_ids, "contact-vcard", fields)
    last = sent[-1]
    answer = {
        "id": last["id"],
        "ack": last["ack"],
        "from": last["from"],
        "to": last["to"],
        "sendMsgResult": {"messageSendResult": "OK"},
    }
    return 200, {"status": "success", "response": answer}


def _object_ids(msg: dict[str, Any]) -> dict[str, Any]:
    """send-reply returns the page's value directly: nested ids are objects (§1.8)."""
    key = msg["id"].rsplit("_", 1)[1]
    remote = msg["chatId"]
    wid = {"server": remote.split("@")[1], "user": user_part(remote), "_serialized": remote}
    return {
        **msg,
        "id": {"fromMe": True, "remote": wid, "id": key, "_serialized": msg["id"]},
        "chatId": wid,
    }


def send_reply(sim: Simulator, name: str, body: dict[str, Any]) -> tuple[int, Any]:
    chat_ids, refused = _recipients(sim, body)
    if refused:
        return refused
    quoted = body.get("messageId")
    fields: dict[str, Any] = {"body": str(body.get("message") or "")}
    if quoted:
        if not isinstance(quoted, str) or sim.messages.find(quoted) is None:
            return _family_a_error(PAGE_ERROR)  # wa-js: msg_not_found
        fields["quotedMsgId"] = quoted
    sent = _record(sim, name, chat_ids, "send-reply", fields)
    return 201, {
        "status": "success",
        "response": [_object_ids(m) for m in sent],
        "mapper": "return",
    }


def download_media(sim: Simulator, name: str, body: dict[str, Any]) -> tuple[int, Any]:
    message_id = body.get("messageId")
    if not isinstance(message_id, str) or sim.messages.get(name, message_id) is None:
        return 400, {"status": "error", "message": "Decrypt file error", "error": PAGE_ERROR}
    stored = sim.messages.file(name, message_id)
    if stored is None:
        return 400, {"status": "error", "message": "Message does not contain media"}
    data, mime = stored
    return 200, {"base64": base64.b64encode(data).decode("ascii"), "mimetype": mime}
