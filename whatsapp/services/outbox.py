"""Enqueue: validate a send request, insert it in the caller's transaction, ring the dispatcher.

Shared by the Python API, the REST API, `manage.py whatsapp_send` and the dashboard, so every entry
point validates the same way and stores the same row (design: flow Enqueue).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from whatsapp import doorbell
from whatsapp.models import Instance, OutboundMessage
from whatsapp.models.message import (
    CANCELLABLE_STATUSES,
    REQUEUEABLE_STATUSES,
    MessageStatus,
    Priority,
)
from whatsapp.phones import InvalidPhone, normalize
from whatsapp.services.instances import InstanceNotFound, get_instance
from whatsapp.services.message_metadata import validate_metadata

logger = logging.getLogger(__name__)

# WhatsApp itself takes ~65k characters; 4096 (the Cloud API's limit) keeps messages readable and
# the gateway's request small.
MAX_TEXT_LENGTH = 4096
MAX_KEY_LENGTH = 200
PRIORITY_NAMES = {"high": Priority.HIGH, "normal": Priority.NORMAL, "low": Priority.LOW}
PRIORITY_OF_VALUE: dict[int, str] = {int(v): name for name, v in PRIORITY_NAMES.items()}


class MessageValidationError(ValidationError):
    """Bad input: `errors` maps each field to its reasons, ready for a form or a JSON body."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__({field: list(reasons) for field, reasons in errors.items()})
        self.errors = {field: [str(r) for r in reasons] for field, reasons in errors.items()}

    def __str__(self) -> str:
        return "; ".join(f"{field}: {' '.join(r)}" for field, r in self.errors.items())


class IdempotencyConflict(MessageValidationError):
    """The idempotency key was already used for another request."""


class MessageNotFound(LookupError):
    pass


class InvalidTransition(Exception):
    """The message is in a status that does not allow this (cancel, requeue)."""


@dataclass(frozen=True)
class SendRequest:
    instance: Instance
    recipient: str
    body: str
    priority: int
    not_before: datetime | None
    expires_at: datetime | None
    idempotency_key: str | None
    metadata: dict[str, Any] | None = None

    def fingerprint(self) -> str:
        """What makes two requests "the same" for an idempotency key."""
        canonical: dict[str, Any] = {
            "instance": self.instance.slug,
            "to": self.recipient,
            "text": self.body,
            "priority": PRIORITY_OF_VALUE.get(self.priority, str(self.priority)),
            "send_after": self.not_before.isoformat() if self.not_before else None,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }
        if self.metadata:
            # Only when present, so fingerprints stored before metadata existed still match.
            canonical["metadata"] = self.metadata
        raw = json.dumps(canonical, sort_keys=True, ensure_ascii=False).encode("utf-8")
        return hashlib.sha256(raw).hexdigest()


def _parse_time(value: object, field: str, errors: dict[str, list[str]]) -> datetime | None:
    if value is None or value == "":
        return None
    parsed: datetime | None = None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None
    if parsed is None:
        errors.setdefault(field, []).append(
            _("Enter a date and time in ISO 8601, e.g. 2030-01-31T14:30:00Z.")
        )
        return None
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def _resolve_instance(value: object, errors: dict[str, list[str]]) -> Instance | None:
    try:
        if isinstance(value, Instance):
            instance = value
        elif value is None or value == "":
            instance = get_instance(None)
        elif isinstance(value, str):
            instance = get_instance(value.strip())
        else:
            errors.setdefault("instance", []).append(_("Give the instance's slug as a string."))
            return None
    except InstanceNotFound as exc:
        errors.setdefault("instance", []).append(str(exc))
        return None
    if not instance.enabled:
        errors.setdefault("instance", []).append(
            _("The instance “%(slug)s” is disabled.") % {"slug": instance.slug}
        )
        return None
    return instance


def validate(
    to: object,
    text: object,
    *,
    instance: object = None,
    idempotency_key: object = None,
    send_after: object = None,
    expires_at: object = None,
    priority: object = "normal",
    metadata: object = None,
) -> SendRequest:
    """Check every field, then raise once with all the reasons; nothing is written."""
    errors: dict[str, list[str]] = {}
    recipient = ""
    try:
        recipient = normalize(to)
    except InvalidPhone as exc:
        errors["to"] = [str(exc)]
    body = ""
    if not isinstance(text, str) or not text.strip():
        errors["text"] = [_("Enter the text to send.")]
    elif len(text) > MAX_TEXT_LENGTH:
        errors["text"] = [
            _("The text is too long: %(length)s characters, at most %(max)s.")
            % {"length": len(text), "max": MAX_TEXT_LENGTH}
        ]
    else:
        body = text
    resolved = _resolve_instance(instance, errors)
    not_before = _parse_time(send_after, "send_after", errors)
    expiry = _parse_time(expires_at, "expires_at", errors)
    now = timezone.now()
    if expiry is not None and expiry <= now:
        errors.setdefault("expires_at", []).append(_("The expiry time is already past."))
    elif expiry is not None and not_before is not None and expiry <= not_before:
        errors.setdefault("expires_at", []).append(_("The expiry time must be after send_after."))
    level: int | None = None
    if isinstance(priority, str) and priority in PRIORITY_NAMES:
        level = PRIORITY_NAMES[priority]
    elif (
        isinstance(priority, int) and not isinstance(priority, bool) and priority in Priority.values
    ):
        level = int(priority)
    else:
        errors["priority"] = [_("Use “high”, “normal” or “low”.")]
    key: str | None = None
    if idempotency_key is not None and idempotency_key != "":
        if not isinstance(idempotency_key, str) or not idempotency_key.isprintable():
            errors["idempotency_key"] = [_("Use printable text for the idempotency key.")]
        elif len(idempotency_key) > MAX_KEY_LENGTH:
            errors["idempotency_key"] = [
                _("The idempotency key is too long: at most %(max)s characters.")
                % {"max": MAX_KEY_LENGTH}
            ]
        else:
            key = idempotency_key
    stored_metadata = validate_metadata(metadata, errors)
    if errors or resolved is None or level is None:
        raise MessageValidationError(errors)
    return SendRequest(
        instance=resolved,
        recipient=recipient,
        body=body,
        priority=level,
        not_before=not_before,
        expires_at=expiry,
        idempotency_key=key,
        metadata=stored_metadata,
    )


def ring_on_commit(instance_id: int | None) -> None:
    """Ring the dispatcher once the caller's transaction commits (the doorbell's policy)."""
    doorbell.ring(doorbell.DISPATCH, instance_id)


def _existing(request: SendRequest) -> OutboundMessage | None:
    return (
        OutboundMessage.objects.select_related("instance")
        .filter(instance=request.instance, idempotency_key=request.idempotency_key)
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


def new_row(request: SendRequest, fingerprint: str, enqueued_by: str) -> OutboundMessage:
    """The unsaved row of a request (batches insert many at once)."""
    return OutboundMessage(
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


def enqueue_request(request: SendRequest, *, enqueued_by: str = "") -> tuple[OutboundMessage, bool]:
    """Insert the message (or find the one this idempotency key made); True when created."""
    fingerprint = request.fingerprint()
    if request.idempotency_key:
        existing = _existing(request)
        if existing is not None:
            return _replay(existing, fingerprint), False
    try:
        # A savepoint, so a lost race on the key leaves the caller's transaction usable.
        with transaction.atomic():
            message = new_row(request, fingerprint, enqueued_by)
            message.save(force_insert=True)
    except IntegrityError:
        existing = _existing(request) if request.idempotency_key else None
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
    enqueued_by: str = "",
) -> OutboundMessage:
    """Validate and insert one message; raises MessageValidationError (or IdempotencyConflict)."""
    request = validate(
        to,
        text,
        instance=instance,
        idempotency_key=idempotency_key,
        send_after=send_after,
        expires_at=expires_at,
        priority=priority,
        metadata=metadata,
    )
    message, _created = enqueue_request(request, enqueued_by=enqueued_by)
    return message


def _uuid(message_id: object) -> UUID:
    try:
        return message_id if isinstance(message_id, UUID) else UUID(str(message_id))
    except ValueError:
        raise MessageNotFound(_("There is no such message.")) from None


def get_message(message_id: object) -> OutboundMessage:
    message = (
        OutboundMessage.objects.select_related("instance").filter(pk=_uuid(message_id)).first()
    )
    if message is None:
        raise MessageNotFound(_("There is no such message."))
    return message


def cancel_message(message_id: object) -> OutboundMessage:
    """Queued or dispatched → cancelled. A dispatched send then fails its claim and stops."""
    pk = _uuid(message_id)
    now = timezone.now()
    changed = OutboundMessage.objects.filter(pk=pk, status__in=CANCELLABLE_STATUSES).update(
        status=MessageStatus.CANCELLED, dispatch_token=None, lease_expires_at=None, updated_at=now
    )
    message = get_message(pk)
    if not changed:
        raise InvalidTransition(
            _("Only a queued message can be cancelled; this one is %(status)s.")
            % {"status": message.get_status_display()}
        )
    return message


def requeue_message(message_id: object) -> OutboundMessage:
    """Failed, expired or cancelled → queued with a fresh attempt count.

    Unknown is left out on purpose: it is being reconciled, and requeueing it could send twice.
    """
    pk = _uuid(message_id)
    with transaction.atomic():
        message = (
            OutboundMessage.objects.select_for_update().select_related("instance").filter(pk=pk)
        ).first()
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
        if message.status == MessageStatus.EXPIRED or (
            message.expires_at and message.expires_at <= timezone.now()
        ):
            message.expires_at = None
        message.status = MessageStatus.QUEUED
        message.attempts = 0
        message.next_attempt_at = None
        message.dispatch_token = None
        message.lease_expires_at = None
        message.failed_at = None
        message.last_error = ""
        message.save()
        ring_on_commit(message.instance_id)
    return message


def api_error_body(exc: MessageValidationError) -> dict[str, Any]:
    first = next(iter(exc.errors.values()), [""])
    return {"message": first[0] if first else "", "errors": exc.errors}
