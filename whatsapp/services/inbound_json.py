"""The one JSON shape of a received message: `message.received` events (and pages, the REST
API) use it, so a field added to inbound messages is added here once."""

from __future__ import annotations

from typing import Any

from whatsapp.models import InboundMessage
from whatsapp.services import inbound_media


def inbound_json(row: InboundMessage) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(row.pk),
        "instance": row.instance.slug,
        "gateway_message_id": row.gateway_id,
        "from": row.sender,
        "type": row.type,
        "text": row.body,
        "sent_at": row.sent_at.isoformat() if row.sent_at else None,
        "received_at": row.received_at.isoformat() if row.received_at else None,
    }
    media = inbound_media.describe(row)
    if media is not None:
        data["media"] = media
    return data
