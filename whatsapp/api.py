"""The Python API for application code: queue a WhatsApp message and forget about it.

    from whatsapp import api
    message = api.send_text("+55 21 99999-9999", "Your order has shipped")
    api.get(message.id).status   # queued → dispatched → sending → sent → delivered → read

`send_text` validates, inserts the row in the caller's transaction and rings the dispatcher once
that transaction commits; a broker failure is logged, never raised (the row is safe and the beat
dispatcher re-drives it). Bad input raises `MessageValidationError` with `.errors`
(`{field: [reasons]}`), and nothing is written.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from whatsapp.models import Instance, OutboundMessage
from whatsapp.services import outbox
from whatsapp.services.outbox import (
    IdempotencyConflict,
    InvalidTransition,
    MessageNotFound,
    MessageValidationError,
)

__all__ = [
    "IdempotencyConflict",
    "InvalidTransition",
    "MessageNotFound",
    "MessageValidationError",
    "cancel",
    "get",
    "send_text",
]


def send_text(
    to: str,
    text: str,
    *,
    instance: Instance | str | None = None,
    idempotency_key: str | None = None,
    send_after: datetime | str | None = None,
    expires_at: datetime | str | None = None,
    priority: str = "normal",
) -> OutboundMessage:
    """Queue a text. `instance` is a slug or row (default instance when None).

    The same `idempotency_key` with the same arguments returns the first message; with other
    arguments it raises `IdempotencyConflict`.
    """
    return outbox.enqueue(
        instance,
        to,
        text,
        idempotency_key=idempotency_key,
        send_after=send_after,
        expires_at=expires_at,
        priority=priority,
        enqueued_by="python",
    )


def cancel(message_id: UUID | str) -> OutboundMessage:
    """Cancel a queued message; raises `InvalidTransition` once it is being sent or done."""
    return outbox.cancel_message(message_id)


def get(message_id: UUID | str) -> OutboundMessage:
    """The message row; raises `MessageNotFound`."""
    return outbox.get_message(message_id)
