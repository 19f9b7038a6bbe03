"""Enqueue: validate a send request, insert it in the caller's transaction, ring the dispatcher.

Shared by the Python API, the REST API, `manage.py whatsapp_send` and the dashboard, so every entry
point validates the same way and stores the same row (design: flow Enqueue).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from whatsapp import audit, doorbell
from whatsapp.models import ApiKey, Instance, OutboundMessage
from whatsapp.models.audit import AuditAction
from whatsapp.models.message import (
    CANCELLABLE_STATUSES,
    REQUEUEABLE_STATUSES,
    MessageStatus,
)
from whatsapp.services import row_insert, transitions
from whatsapp.services.media_store import Prepared
from whatsapp.services.message_media import Attach
from whatsapp.services.message_requests import (
    MAX_KEY_LENGTH,
    MAX_TEXT_LENGTH,
    PRIORITY_NAMES,
    IdempotencyConflict,
    MessageValidationError,
    SendRequest,
    api_error_body,
    validate,
)

__all__ = [
    "MAX_KEY_LENGTH",
    "MAX_TEXT_LENGTH",
    "PRIORITY_NAMES",
    "IdempotencyConflict",
    "InvalidTransition",
    "MessageNotFound",
    "MessageValidationError",
    "SendRequest",
    "api_error_body",
    "cancel_message",
    "enqueue",
    "enqueue_request",
    "get_message",
    "requeue_message",
    "validate",
]

logger = logging.getLogger(__name__)


# A message queued again by a person starts over: no attempts, no claim, no wait.
FRESH_START: dict[str, Any] = {
    "attempts": 0,
    "next_attempt_at": None,
    "dispatch_token": None,
    "lease_expires_at": None,
    "last_error": "",
}


class MessageNotFound(LookupError):
    pass


class InvalidTransition(Exception):
    """The message is in a status that does not allow this (cancel, requeue, resolve)."""


def ring_on_commit(instance_id: int | None) -> None:
    """Ring the dispatcher once the caller's transaction commits (the doorbell's policy); not
    when a ring for this instance already waits for a dispatch that has not started (it will
    see this row), so a burst of enqueues leaves one dispatch task in the broker, not one each."""
    doorbell.ring_pending(doorbell.DISPATCH, instance_id)


def _existing(request: SendRequest, api_key: ApiKey | None) -> OutboundMessage | None:
    # Idempotency keys are per API key (and one space for the Python API and the dashboard).
    return (
        OutboundMessage.objects.select_related("instance")
        .filter(instance=request.instance, idempotency_key=request.idempotency_key, api_key=api_key)
        .first()
    )


def _replay(existing: OutboundMessage, fingerprint: str) -> OutboundMessage:
    if existing.request_fingerprint != fingerprint:
        raise IdempotencyConflict(
            {
                "idempotency_key": [
                    _("This idempotency key was already used for a different message.")
                ]
            }
        )
    return existing


def new_row(
    request: SendRequest,
    fingerprint: str,
    enqueued_by: str,
    attach: Attach | None = None,
    api_key: ApiKey | None = None,
) -> OutboundMessage:
    """The unsaved row of a request (batches insert many at once), its file stored.

    Raises MessageValidationError when the file it names has been pruned since it was checked.
    """
    row = OutboundMessage(
        api_key=api_key,
        instance=request.instance,
        recipient=request.recipient,
        body=request.body,
        priority=request.priority,
        not_before=request.not_before,
        expires_at=request.expires_at,
        idempotency_key=request.idempotency_key,
        request_fingerprint=fingerprint,
        metadata=request.metadata,
        enqueued_by=enqueued_by[:120],
    )
    (attach or Attach()).apply(row, request.content)
    return row


def _insert(message: OutboundMessage) -> None:
    if transaction.get_connection().in_atomic_block:
        # A savepoint, so a lost race on the key leaves the caller's transaction usable.
        with transaction.atomic():
            row_insert.insert(message)
    else:
        # Autocommit (a REST request): the one INSERT commits alone, and a failed one leaves
        # nothing to roll back, so BEGIN and COMMIT would only add two round trips.
        row_insert.insert(message)


def enqueue_request(
    request: SendRequest, *, enqueued_by: str = "", api_key: ApiKey | None = None
) -> tuple[OutboundMessage, bool]:
    """Insert the message (or find the one this idempotency key made); True when created.

    `api_key` is the REST caller's key: the message is its own, and so is its idempotency key.
    """
    fingerprint = request.fingerprint()
    if request.idempotency_key:
        existing = _existing(request, api_key)
        if existing is not None:
            return _replay(existing, fingerprint), False
    message = new_row(request, fingerprint, enqueued_by, api_key=api_key)
    try:
        _insert(message)
    except IntegrityError:
        existing = _existing(request, api_key) if request.idempotency_key else None
        if existing is None:
            raise
        return _replay(existing, fingerprint), False
    ring_on_commit(request.instance.pk)
    return message, True


def enqueue(
    instance: Instance | str | None,
    to: object,
    text: object,
    *,
    idempotency_key: object = None,
    send_after: object = None,
    expires_at: object = None,
    priority: object = "normal",
    metadata: object = None,
    content: Mapping[str, Any] | None = None,
    file: Prepared | None = None,
    enqueued_by: str = "",
) -> OutboundMessage:
    """Validate and insert one message; raises MessageValidationError (or IdempotencyConflict).

    `content` holds a type's fields (see `validate`); `file` a file already read.
    """
    request = validate(
        to,
        text,
        instance=instance,
        idempotency_key=idempotency_key,
        send_after=send_after,
        expires_at=expires_at,
        priority=priority,
        metadata=metadata,
        content=content,
        file=file,
    )
    message, _created = enqueue_request(request, enqueued_by=enqueued_by)
    return message


def _uuid(message_id: object) -> UUID:
    try:
        return message_id if isinstance(message_id, UUID) else UUID(str(message_id))
    except ValueError:
        raise MessageNotFound(_("There is no such message.")) from None


def get_message(
    message_id: object, within: QuerySet[OutboundMessage] | None = None
) -> OutboundMessage:
    """The message; `within` limits where it is looked for (what a caller may see)."""
    rows = within if within is not None else OutboundMessage.objects.all()
    message = rows.select_related("instance", "media").filter(pk=_uuid(message_id)).first()
    if message is None:
        raise MessageNotFound(_("There is no such message."))
    return message


def cancel_message(
    message_id: object,
    *,
    within: QuerySet[OutboundMessage] | None = None,
    actor: audit.Actor = audit.PYTHON,
) -> OutboundMessage:
    """Queued or dispatched → cancelled. A dispatched send then fails its claim and stops."""
    pk = get_message(message_id, within).pk
    with transaction.atomic():
        changed = transitions.move(
            pk,
            frm=CANCELLABLE_STATUSES,
            to=MessageStatus.CANCELLED,
            dispatch_token=None,
            lease_expires_at=None,
        )
        message = get_message(pk)
        if changed:
            audit.record(actor, AuditAction.MESSAGE_CANCEL, message=message)
    if not changed:
        raise InvalidTransition(
            _("Only a queued message can be cancelled; this one is %(status)s.")
            % {"status": message.get_status_display()}
        )
    return message


def requeue_message(
    message_id: object,
    *,
    within: QuerySet[OutboundMessage] | None = None,
    actor: audit.Actor = audit.PYTHON,
) -> OutboundMessage:
    """Failed, expired or cancelled → queued with a fresh attempt count.

    Unknown is left out on purpose: it is being reconciled, and requeueing it could send twice.
    """
    pk = _uuid(message_id)
    rows = within if within is not None else OutboundMessage.objects.all()
    with transaction.atomic():
        message = (rows.select_for_update().select_related("instance").filter(pk=pk)).first()
        if message is None:
            raise MessageNotFound(_("There is no such message."))
        if message.status not in REQUEUEABLE_STATUSES:
            raise InvalidTransition(
                _(
                    "Only a failed, expired or cancelled message can be queued again; "
                    "this one is %(status)s."
                )
                % {"status": message.get_status_display()}
            )
        expires_at = message.expires_at
        if message.status == MessageStatus.EXPIRED or (expires_at and expires_at <= timezone.now()):
            expires_at = None
        transitions.move(
            pk,
            frm=message.status,
            to=MessageStatus.QUEUED,
            expires_at=expires_at,
            failed_at=None,
            **FRESH_START,
        )
        audit.record(actor, AuditAction.MESSAGE_REQUEUE, message=message)
        ring_on_commit(message.instance_id)
    return get_message(pk)
