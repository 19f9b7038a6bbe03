"""The one JSON shape of a received message: the REST API (`GET /inbound`), the
`message.received` event and the inbox all use it, so a field added to inbound messages is added
here once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from whatsapp.models import InboundMessage
from whatsapp.services import inbound_media


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def inbound_json(row: InboundMessage) -> dict[str, Any]:
    """`from` (E.164 digits) and `from_lid` (`…@lid`) are exclusive: one is null. `chat` is where
    a reply goes (`to` of a send); `is_group` when it is a group's id, and then `from` is the
    author. `media` is null for a message without a file."""
    return {
        "id": str(row.pk),
        "instance": row.instance.slug,
        "gateway_message_id": row.gateway_id,
        "type": row.type,
        "from": row.sender or None,
        "from_lid": row.sender_lid or None,
        "push_name": row.push_name,
        "chat": row.chat,
        "is_group": row.chat.endswith("@g.us"),
        "text": row.body,
        "reply_to": row.quoted_id or None,
        "sent_at": _time(row.sent_at),
        "received_at": _time(row.received_at),
        "media": inbound_media.describe(row),
    }
