"""The Python API for application code: what the REST API does, without HTTP.

    from whatsapp import api
    message = api.send_text("+55 21 99999-9999", "Your order has shipped")
    api.get(message.id).status   # queued → dispatched → sending → sent → delivered → read

`send_text` validates, inserts the row in the caller's transaction and rings the dispatcher once
that transaction commits; a broker failure is logged, never raised (the row is safe and the beat
dispatcher re-drives it). Bad input raises `MessageValidationError` with `.errors`
(`{field: [reasons]}`), and nothing is written: the same fields, rules and reasons as the REST API
(docs/messages.md shows both side by side).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from django.utils.translation import gettext as _

from whatsapp.models import InboundMessage, Instance, MediaFile, OutboundMessage, SessionOperation
from whatsapp.models.operation import OperationKind
from whatsapp.phones import InvalidPhone
from whatsapp.services import batch, media_input, media_store, outbox, session_requests
from whatsapp.services.batch import MAX_BATCH, ItemResult
from whatsapp.services.inbound_query import InboundPage, get_inbound, list_inbound
from whatsapp.services.instances import InstanceNotFound, get_instance
from whatsapp.services.message_query import MessagePage, list_messages
from whatsapp.services.outbox import (
    IdempotencyConflict,
    InvalidTransition,
    MessageNotFound,
    MessageValidationError,
)
from whatsapp.services.session_requests import SessionRequestRefused

__all__ = [
    "MAX_BATCH",
    "IdempotencyConflict",
    "InboundPage",
    "InstanceNotFound",
    "InvalidPhone",
    "InvalidTransition",
    "ItemResult",
    "MessageNotFound",
    "MessagePage",
    "MessageValidationError",
    "OperationNotFound",
    "SessionRequestRefused",
    "cancel",
    "close_session",
    "get",
    "inbound",
    "inbound_message",
    "instance",
    "instances",
    "list_messages",
    "logout_session",
    "operation",
    "qr_png",
    "refresh_session",
    "send_contact",
    "send_location",
    "send_many",
    "send_media",
    "send_text",
    "start_session",
    "upload_media",
]


class OperationNotFound(LookupError):
    pass


def send_text(
    to: str,
    text: str,
    *,
    instance: Instance | str | None = None,
    idempotency_key: str | None = None,
    send_after: datetime | str | None = None,
    expires_at: datetime | str | None = None,
    priority: str = "normal",
    metadata: dict[str, Any] | None = None,
    reply_to: UUID | str | None = None,
) -> OutboundMessage:
    """Queue a text. `instance` is a slug or row (default instance when None).

    `to` is a phone number, a group id (`…@g.us`) or a LID (`…@lid`). The same
    `idempotency_key` with the same arguments returns the first message; with other arguments
    it raises `IdempotencyConflict`. `metadata` is a JSON object of at most 4 KB that comes back
    with the message. `reply_to` quotes an earlier message: one of ours (its id) or any
    message's gateway id.
    """
    return _enqueue(
        {"to": to, "text": text, "reply_to": reply_to},
        instance=instance,
        idempotency_key=idempotency_key,
        send_after=send_after,
        expires_at=expires_at,
        priority=priority,
        metadata=metadata,
    )


def _enqueue(
    item: dict[str, Any], file: media_store.Prepared | None = None, **common: Any
) -> OutboundMessage:
    # The same item check as a REST message or a batch item, so each mistake gets one answer.
    fields = {key: value for key, value in {**item, **common}.items() if value is not None}
    fields.setdefault("priority", "normal")
    if isinstance(fields.get("reply_to"), UUID):
        fields["reply_to"] = str(fields["reply_to"])
    request = batch.validate_item(fields, file=file)
    message, _created = outbox.enqueue_request(request, enqueued_by="python")
    return message


def send_media(
    to: str,
    file: media_input.FileLike | MediaFile | None = None,
    *,
    url: str | None = None,
    caption: str | None = None,
    filename: str | None = None,
    kind: str | None = None,
    reply_to: UUID | str | None = None,
    instance: Instance | str | None = None,
    idempotency_key: str | None = None,
    send_after: datetime | str | None = None,
    expires_at: datetime | str | None = None,
    priority: str = "normal",
    metadata: dict[str, Any] | None = None,
) -> OutboundMessage:
    """Queue a file: `file` is bytes, a path, a file object, a Django `File` or a `MediaFile`
    (from `upload_media`); or give `url` for a worker to fetch once (then `kind` is needed).

    `kind` is "image", "video", "audio", "voice" (a voice note) or "document"; taken from the
    file's bytes when not given. `caption` for images, videos and documents; `filename` is what
    the recipient sees of a document (the file's own name when not given). Its type is read
    from its bytes and checked against `kind` and its size cap; a bad file raises
    `MessageValidationError` and nothing is stored. A file sent many times is stored once.
    """
    item: dict[str, Any] = {
        "to": to,
        "type": kind,
        "caption": caption,
        "filename": filename,
        "reply_to": reply_to,
        "media_url": url,
    }
    prepared = None
    if isinstance(file, MediaFile):
        item["media_id"] = str(file.pk)
    elif file is not None:
        prepared = media_input.prepare(file)
    try:
        return _enqueue(
            item,
            prepared,
            instance=instance,
            idempotency_key=idempotency_key,
            send_after=send_after,
            expires_at=expires_at,
            priority=priority,
            metadata=metadata,
        )
    finally:
        if prepared is not None:
            prepared.close()


def send_location(
    to: str,
    latitude: float,
    longitude: float,
    *,
    name: str | None = None,
    address: str | None = None,
    instance: Instance | str | None = None,
    idempotency_key: str | None = None,
    send_after: datetime | str | None = None,
    expires_at: datetime | str | None = None,
    priority: str = "normal",
    metadata: dict[str, Any] | None = None,
    reply_to: UUID | str | None = None,
) -> OutboundMessage:
    """Queue a place on the map (latitude -90..90, longitude -180..180), with an optional name
    and address shown under it. The gateway cannot send a location as a reply (`reply_to` is
    refused, named)."""
    location = {"latitude": latitude, "longitude": longitude, "name": name, "address": address}
    item = {
        "to": to,
        "location": {key: value for key, value in location.items() if value is not None},
        "reply_to": reply_to,
    }
    return _enqueue(
        item,
        instance=instance,
        idempotency_key=idempotency_key,
        send_after=send_after,
        expires_at=expires_at,
        priority=priority,
        metadata=metadata,
    )


def send_contact(
    to: str,
    name: str,
    phones: list[str] | str,
    *,
    instance: Instance | str | None = None,
    idempotency_key: str | None = None,
    send_after: datetime | str | None = None,
    expires_at: datetime | str | None = None,
    priority: str = "normal",
    metadata: dict[str, Any] | None = None,
    reply_to: UUID | str | None = None,
) -> OutboundMessage:
    """Queue a contact card: a name and its phone number (the gateway's card carries one)."""
    numbers = [phones] if isinstance(phones, str) else phones
    item = {"to": to, "contact": {"name": name, "phones": numbers}, "reply_to": reply_to}
    return _enqueue(
        item,
        instance=instance,
        idempotency_key=idempotency_key,
        send_after=send_after,
        expires_at=expires_at,
        priority=priority,
        metadata=metadata,
    )


def upload_media(
    file: media_input.FileLike | MediaFile, *, filename: str | None = None
) -> MediaFile:
    """Store a file once (as `POST /media`), to send later with `send_media(to, media)`."""
    if isinstance(file, MediaFile):
        return file
    from whatsapp import uploads

    prepared = media_input.prepare(file, filename)
    try:
        uploads.check_sendable(prepared)
        return media_store.save(prepared)
    except uploads.UploadProblem as exc:
        raise MessageValidationError({"file": [exc.reason]}) from None
    finally:
        prepared.close()


def send_many(messages: Iterable[dict[str, Any]]) -> list[ItemResult]:
    """Queue up to MAX_BATCH messages, each a dict of `send_text`'s arguments (`to`, `text`, …).

    Returns one ItemResult per item, in order: `.message` and `.created` (False for a replay of
    its idempotency key), or `.error` (a MessageValidationError with `.errors`). The valid items
    are inserted in one transaction; a bad one never stops the others.
    """
    items = list(messages)
    if not items or len(items) > MAX_BATCH:
        raise MessageValidationError(
            {"messages": [_("Send from 1 to %(max)s messages.") % {"max": MAX_BATCH}]}
        )
    return batch.enqueue_many(batch.check_items(items), enqueued_by="python")


def cancel(message_id: UUID | str) -> OutboundMessage:
    """Cancel a queued message; raises `InvalidTransition` once it is being sent or done."""
    return outbox.cancel_message(message_id)


def get(message_id: UUID | str) -> OutboundMessage:
    """The message row; raises `MessageNotFound`."""
    return outbox.get_message(message_id)


def inbound(
    *,
    instance: str | None = None,
    sender: str | None = None,
    chat: str | None = None,
    since: datetime | str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> InboundPage:
    """Messages people sent to our numbers, newest first: `.results` (InboundMessage rows) and
    `.next_cursor` for the next page. `sender` and `chat` take a phone number, a `…@lid` or (for
    `chat`) a group id; bad filters raise `MessageValidationError` with the REST API's reasons.
    `whatsapp.services.inbound_json.inbound_json(row)` gives a row as the REST API shows it."""
    given: dict[str, object] = {"instance": instance, "sender": sender, "chat": chat}
    given |= {"since": since, "limit": limit, "cursor": cursor}
    filters = {name: value for name, value in given.items() if value is not None}
    return list_inbound(None, None, **filters)


def inbound_message(inbound_id: int | str) -> InboundMessage:
    """One received message; raises `InboundMessage.DoesNotExist`."""
    return get_inbound(inbound_id)


def instances() -> list[Instance]:
    """Every WhatsApp number (instance), the default first."""
    return list(Instance.objects.order_by("-is_default", "slug"))


def instance(slug: str | None = None) -> Instance:
    """One instance with its last known state; the default when slug is None.

    Raises `InstanceNotFound`.
    """
    return get_instance(slug)


def _operate(slug: str | None, kind: str, phone: str | None = None) -> SessionOperation:
    operation, _created = session_requests.request(get_instance(slug), kind, phone=phone)
    return operation


def start_session(slug: str | None = None, *, phone: str | None = None) -> SessionOperation:
    """Ask a worker to start the session (a pairing code for `phone` instead of a QR).

    Returns at once with the operation (the active one when a start is already under way); poll
    `operation(id)`. Raises `InstanceNotFound`, `SessionRequestRefused` or `InvalidPhone`.
    """
    return _operate(slug, OperationKind.START, phone)


def close_session(slug: str | None = None) -> SessionOperation:
    """Ask a worker to close the session (it can be started again without a new scan)."""
    return _operate(slug, OperationKind.CLOSE)


def logout_session(slug: str | None = None) -> SessionOperation:
    """Ask a worker to log the number out (the next start needs a new scan)."""
    return _operate(slug, OperationKind.LOGOUT)


def refresh_session(slug: str | None = None) -> SessionOperation:
    """Ask a worker to read the session's state from the gateway."""
    return _operate(slug, OperationKind.REFRESH)


def operation(operation_id: int) -> SessionOperation:
    """A session operation; raises `OperationNotFound`."""
    found = (
        SessionOperation.objects.select_related("instance").filter(pk=operation_id).first()
        if isinstance(operation_id, int) and not isinstance(operation_id, bool)
        else None
    )
    if found is None:
        raise OperationNotFound(_("There is no such operation."))
    return found


def qr_png(slug: str | None = None) -> bytes | None:
    """The QR code waiting to be scanned, as PNG bytes; None when there is none."""
    return session_requests.qr_png(get_instance(slug))
