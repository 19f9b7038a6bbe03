"""The one JSON shape of an outbound message: the REST API and the dashboard both use it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from whatsapp.models import MediaFile, MessageAttempt, OutboundMessage
from whatsapp.models.message import CAPTIONED_KINDS, MEDIA_KINDS, MessageKind, Priority

PRIORITY_NAMES: dict[int, str] = {
    Priority.HIGH.value: "high",
    Priority.NORMAL.value: "normal",
    Priority.LOW.value: "low",
}


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def attempt_json(attempt: MessageAttempt) -> dict[str, Any]:
    return {
        "number": attempt.number,
        "started_at": _time(attempt.started_at),
        "finished_at": _time(attempt.finished_at),
        "outcome": attempt.outcome,
        "http_status": attempt.http_status,
        "duration_ms": attempt.duration_ms,
        "error": attempt.error,
    }


def media_json(media: MediaFile) -> dict[str, Any]:
    """A stored file, as `POST /media` answers it and messages carry it."""
    return {
        "id": str(media.pk),
        "sha256": media.sha256,
        "size": media.size,
        "mime_type": media.mime_type,
        "filename": media.filename,
    }


def _content(message: OutboundMessage) -> dict[str, Any]:
    """The fields of the message's type. A text to a person has none: its shape stays the one
    clients written before other types existed know (`type` absent means text,
    `recipient_type` absent a person)."""
    data: dict[str, Any] = {}
    kind = message.kind
    if kind != MessageKind.TEXT:
        data["type"] = kind
    if message.recipient.endswith("@g.us"):
        data["recipient_type"] = "group"
    if kind in MEDIA_KINDS:
        if kind in CAPTIONED_KINDS:
            data["caption"] = message.body
        data["filename"] = message.filename
        data["media"] = media_json(message.media) if message.media else None
    elif kind == MessageKind.LOCATION:
        data["location"] = message.content
    elif kind == MessageKind.CONTACT:
        data["contact"] = message.content
    if message.reply_to_id or message.quoted_id:
        data["reply_to"] = str(message.reply_to_id) if message.reply_to_id else message.quoted_id
    return data


def message_json(message: OutboundMessage, *, attempts: bool = False) -> dict[str, Any]:
    """`attempts=True` adds `attempt_log` (the detail endpoint); it costs one more query."""
    data: dict[str, Any] = {
        "id": str(message.id),
        "instance": message.instance.slug,
        "to": message.recipient,
        "text": message.body if message.kind == MessageKind.TEXT else "",
        "status": message.status,
        "priority": PRIORITY_NAMES.get(message.priority, str(message.priority)),
        "attempts": message.attempts,
        "send_after": _time(message.not_before),
        "expires_at": _time(message.expires_at),
        "gateway_message_id": message.gateway_message_id or None,
        "ack": message.ack,
        "sent_at": _time(message.sent_at),
        "delivered_at": _time(message.delivered_at),
        "read_at": _time(message.read_at),
        "failed_at": _time(message.failed_at),
        "last_error": message.last_error,
        "created_at": _time(message.created_at),
        "updated_at": _time(message.updated_at),
        "idempotency_key": message.idempotency_key,
    }
    if message.metadata:
        # Only when given: clients written before metadata existed see the shape they know.
        data["metadata"] = message.metadata
    data.update(_content(message))
    if attempts:
        data["attempt_log"] = [attempt_json(a) for a in message.attempt_log.order_by("number")]
    return data
