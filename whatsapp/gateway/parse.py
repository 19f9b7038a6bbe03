"""Turn the gateway's JSON bodies into dataclasses, tolerating the quirks of contract §1.

Every function takes the decoded body and the route name, ignores unknown keys (the
injected ``session`` key, ``mapper``) and raises ProtocolError when a key it needs is missing.
"""

from __future__ import annotations

import math
import re
from typing import Any

from . import values
from .errors import ProtocolError
from .types import STATUSES, DeviceInfo, GatewayMessage, NumberStatus, SentMessage, SessionState

# waitQrCode answers use lowercase "qrcode"/"phoneCode" (§5.2); we never ask for them, but a
# body stored by another client could still come back this way.
_ALIASES = {"QRCODE": "QRCODE", "PHONECODE": "PHONECODE"}
_PNG_PREFIX = "data:image/png;base64,"


def digits(phone: str) -> str:
    """Bare digits of a number or a WhatsApp id (``5521...@c.us`` -> ``5521...``)."""
    return re.sub(r"\D", "", phone.partition("@")[0])


def _fail(route: str, what: str) -> ProtocolError:
    return ProtocolError(f"unexpected answer from the gateway on {route}: {what}", route=route)


def expect_dict(body: Any, route: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise _fail(route, "expected a JSON object")
    return body


# Message ids are stored in a 200-character column; a longer one is not an id we can use.
MAX_ID_LENGTH = 200
# Ack levels (§5.8): -1 error, 0 pending, 1 sent, 2 delivered, 3 read, 4 played.
ACK_RANGE = (-1, 4)


def wid_to_str(value: Any) -> str | None:
    """Ids come as strings from send-message but as objects in other places (§8.18)."""
    found: str | None = None
    if isinstance(value, str):
        found = value
    elif isinstance(value, dict):
        serialized = value.get("_serialized")
        user, server = value.get("user"), value.get("server")
        if isinstance(serialized, str):
            found = serialized
        elif isinstance(user, str) and isinstance(server, str):
            found = f"{user}@{server}"
    if not found or len(found) > MAX_ID_LENGTH:
        return None
    return values.clean_text(found)


def ack_level(value: Any) -> int | None:
    return values.small_int(value, *ACK_RANGE)


def session_state(body: Any, route: str) -> SessionState:
    data = expect_dict(body, route)
    if "status" not in data:
        raise _fail(route, "no status")
    raw = data["status"]
    if raw is None:
        # A null status means "no live session": after close-session (§5.2, §5.4).
        status = "CLOSED"
    elif isinstance(raw, str):
        upper = raw.upper()
        status = _ALIASES.get(upper, upper)
        if status not in STATUSES:
            # Unknown words (library states leaking through) carry no live session we can use.
            status = "CLOSED"
    else:
        raise _fail(route, "status is not a string")
    qrcode: str | None = values.text(data.get("qrcode"))
    # qrcode/urlcode are never cleared: CONNECTED and CLOSED keep a stale one (§4.1).
    if status != "QRCODE" or not qrcode:
        qrcode = None
    elif not qrcode.startswith("data:"):
        qrcode = _PNG_PREFIX + qrcode
    return SessionState(
        status=status,
        connected=status == "CONNECTED",
        qrcode=qrcode,
        version=values.text(data.get("version"), 40) or None,
        raw_status=values.text(raw, 40) or None,
    )


def sent_message(body: Any, route: str, fallback_to: str) -> SentMessage:
    data = expect_dict(body, route)
    response = data.get("response")
    if not isinstance(response, list) or not response or not isinstance(response[0], dict):
        raise _fail(route, "no message in response[]")
    first = response[0]
    message_id = wid_to_str(first.get("id"))
    if not message_id:
        raise _fail(route, "the message has no id")
    to = wid_to_str(first.get("to")) or wid_to_str(first.get("chatId")) or fallback_to
    return SentMessage(id=message_id, ack=ack_level(first.get("ack")) or 0, to=to)


def sent_single(body: Any, route: str, fallback_to: str) -> SentMessage:
    """contact-vcard's answer: `response` is one SendMessageReturn, not a list (§2.6)."""
    data = expect_dict(body, route)
    response = data.get("response")
    if not isinstance(response, dict):
        raise _fail(route, "no message in response")
    return sent_message({"response": [response]}, route, fallback_to)


def _coordinate(value: Any) -> float | None:
    """A latitude or longitude as WhatsApp keeps it (a number, sometimes text), or None."""
    if isinstance(value, str) and len(value) <= 40:
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, int) and not -1000 <= value <= 1000:
        return None  # compared before float(): a huge int would overflow it
    number = float(value)
    return number if math.isfinite(number) and -180.0 <= number <= 180.0 else None


def device_info(body: Any, route: str) -> DeviceInfo:
    data = expect_dict(body, route)
    response = data.get("response")
    if not isinstance(response, dict):
        raise _fail(route, "response is not an object")
    # Only phoneNumber is added by the server; the rest is WhatsApp Web's Conn model (§5.9).
    wid = wid_to_str(response.get("phoneNumber")) or wid_to_str(response.get("wid"))
    # Both end up in the database (the instance's device): cleaned and bounded.
    pushname = values.text(response.get("pushname"), 100)
    platform = values.text(response.get("platform"), 40)
    return DeviceInfo(
        phone=(digits(wid) or None) if wid else None,
        pushname=pushname or None,
        platform=platform or None,
        raw=response,
    )


def phone_number(body: Any, route: str) -> str:
    data = expect_dict(body, route)
    wid = wid_to_str(data.get("response"))
    number = digits(wid) if wid else ""
    if not number:
        raise _fail(route, "no phone number in response")
    return number


def number_status(body: Any, route: str) -> NumberStatus:
    data = expect_dict(body, route)
    response = expect_dict(data.get("response"), route)
    exists = response.get("numberExists")
    if not isinstance(exists, bool):
        raise _fail(route, "no numberExists flag")
    return NumberStatus(exists=exists, wid=wid_to_str(response.get("id")))


def gateway_message(item: Any, route: str) -> GatewayMessage:
    data = expect_dict(item, route)
    message_id = wid_to_str(data.get("id"))
    if not message_id:
        raise _fail(route, "a message has no id")
    from_me = data.get("fromMe")
    if not isinstance(from_me, bool):
        # Serialized ids are "fromMe_chatId_key" (§5.8).
        from_me = message_id.startswith("true_")
    kind = values.text(data.get("type"), 30)
    # A media message's body is its thumbnail (or the file, with autoDownload): not text.
    text = "" if data.get("isMedia") is True else values.text(data.get("body"))
    return GatewayMessage(
        id=message_id,
        from_me=from_me,
        body=text or ("" if data.get("isMedia") is True else values.text(data.get("content"))),
        timestamp=values.epoch_seconds(data.get("t", data.get("timestamp"))),
        ack=ack_level(data.get("ack")),
        to=wid_to_str(data.get("to")),
        type=kind,
        caption=values.text(data.get("caption"), 5000),
        filename=values.text(data.get("filename"), 255),
        latitude=_coordinate(data.get("lat")),
        longitude=_coordinate(data.get("lng")),
        contact_name=values.text(data.get("vcardFormattedName"), 256),
    )


def message_list(body: Any, route: str) -> list[GatewayMessage]:
    data = expect_dict(body, route)
    response = data.get("response")
    if not isinstance(response, list):
        raise _fail(route, "response is not a list")
    return [gateway_message(item, route) for item in response]
