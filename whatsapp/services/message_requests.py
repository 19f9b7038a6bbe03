"""A send request, validated: every field checked, every reason said, nothing written.

Shared by every entry point (Python API, REST API, dashboard, `manage.py whatsapp_send`) through
`whatsapp.services.outbox`. Bad input of any shape (NUL bytes, lone surrogates, huge numbers,
time zone offsets no database takes, years past 9999) becomes a `MessageValidationError` naming
the field and the reason; it never reaches the database or the fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from whatsapp.gateway.values import has_unstorable
from whatsapp.models import Instance
from whatsapp.models.message import Priority
from whatsapp.services import message_content, message_fields
from whatsapp.services.instances import InstanceNotFound, get_instance
from whatsapp.services.media_store import Prepared
from whatsapp.services.message_content import Content
from whatsapp.services.message_metadata import validate_metadata

# WhatsApp itself takes ~65k characters; 4096 (the Cloud API's limit) keeps messages readable and
# the gateway's request small.
MAX_TEXT_LENGTH = 4096
MAX_KEY_LENGTH = 200
PRIORITY_NAMES = {"high": Priority.HIGH, "normal": Priority.NORMAL, "low": Priority.LOW}
PRIORITY_OF_VALUE: dict[int, str] = {int(v): name for name, v in PRIORITY_NAMES.items()}
# ISO 8601 allows offsets up to ±24:00 and Python up to ±23:59, but real zones stay within
# ±14:00 and PostgreSQL refuses some beyond; ±18:00 is the bound java.time and RFC 3339 tools use.
MAX_OFFSET = timedelta(hours=18)
# Times must fall in a range every layer can hold and compare.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
MAX_AHEAD = timedelta(days=3660)
SLUG_RE = re.compile(r"^[-a-zA-Z0-9_]{1,50}$")
MAX_TIME_TEXT = 64


class MessageValidationError(ValidationError):
    """Bad input: `errors` maps each field to its reasons, ready for a form or a JSON body."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__({field: list(reasons) for field, reasons in errors.items()})
        self.errors = {field: [str(r) for r in reasons] for field, reasons in errors.items()}

    def __str__(self) -> str:
        return "; ".join(f"{field}: {' '.join(r)}" for field, r in self.errors.items())


class IdempotencyConflict(MessageValidationError):
    """The idempotency key was already used for another request."""


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
    content: Content = field(default_factory=Content)

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
        canonical.update(self.content.canonical())
        raw = json.dumps(canonical, sort_keys=True, ensure_ascii=False).encode("utf-8")
        return hashlib.sha256(raw).hexdigest()


Errors = dict[str, list[str]]


def _add(errors: Errors, field: str, reason: str) -> None:
    errors.setdefault(field, []).append(reason)


def _parse_time_text(value: str) -> datetime | None:
    if len(value) > MAX_TIME_TEXT or has_unstorable(value):
        return None
    try:
        return parse_datetime(value.strip())
    except (ValueError, OverflowError):
        return None


def _parse_time(value: object, field: str, errors: Errors) -> datetime | None:
    if value is None or value == "":
        return None
    parsed = value if isinstance(value, datetime) else None
    if isinstance(value, str):
        parsed = _parse_time_text(value)
    if parsed is None:
        _add(errors, field, _("Enter a date and time in ISO 8601, e.g. 2030-01-31T14:30:00Z."))
        return None
    if timezone.is_naive(parsed):
        try:
            parsed = timezone.make_aware(parsed)
        except (ValueError, OverflowError):
            _add(errors, field, _("This time does not exist in the server's time zone."))
            return None
    offset = parsed.utcoffset()
    if offset is not None and abs(offset) > MAX_OFFSET:
        _add(errors, field, _("The time zone offset must be between -18:00 and +18:00."))
        return None
    try:
        in_range = EARLIEST <= parsed <= timezone.now() + MAX_AHEAD
    except OverflowError:
        in_range = False
    if not in_range:
        _add(errors, field, _("Use a time between the year 2000 and ten years from now."))
        return None
    return parsed


def _check_text(text: object, errors: Errors) -> str:
    if not isinstance(text, str) or not text.strip():
        _add(errors, "text", _("Enter the text to send."))
    elif len(text) > MAX_TEXT_LENGTH:
        _add(
            errors,
            "text",
            _("The text is too long: %(length)s characters, at most %(max)s.")
            % {"length": len(text), "max": MAX_TEXT_LENGTH},
        )
    elif has_unstorable(text):
        _add(
            errors,
            "text",
            _("The text contains a NUL character or a broken emoji (a lone surrogate)."),
        )
    else:
        return text
    return ""


def _resolve_instance(value: object, errors: Errors) -> Instance | None:
    try:
        if isinstance(value, Instance):
            instance = value
        elif value is None or value == "":
            instance = get_instance(None)
        elif isinstance(value, str) and SLUG_RE.match(value.strip()):
            instance = get_instance(value.strip())
        elif isinstance(value, str):
            _add(errors, "instance", _("An instance's slug has only letters, digits, - and _."))
            return None
        else:
            _add(errors, "instance", _("Give the instance's slug as a string."))
            return None
    except InstanceNotFound as exc:
        _add(errors, "instance", str(exc))
        return None
    if not instance.enabled:
        _add(
            errors, "instance", _("The instance “%(slug)s” is disabled.") % {"slug": instance.slug}
        )
        return None
    return instance


def _priority(priority: object, errors: Errors) -> int | None:
    # Compared, never converted: a 5,000-digit number must not reach int() or str().
    if isinstance(priority, str) and priority in PRIORITY_NAMES:
        return int(PRIORITY_NAMES[priority])
    if isinstance(priority, int) and not isinstance(priority, bool):
        if priority in Priority.values:
            return int(priority)
    _add(errors, "priority", _("Use “high”, “normal” or “low”."))
    return None


def _idempotency_key(value: object, errors: Errors) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not value.isprintable() or has_unstorable(value):
        _add(errors, "idempotency_key", _("Use printable text for the idempotency key."))
    elif len(value) > MAX_KEY_LENGTH:
        _add(
            errors,
            "idempotency_key",
            _("The idempotency key is too long: at most %(max)s characters.")
            % {"max": MAX_KEY_LENGTH},
        )
    else:
        return value
    return None


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
    content: Mapping[str, Any] | None = None,
    file: Prepared | None = None,
) -> SendRequest:
    """Check every field, then raise once with all the reasons; nothing is written.

    `content` holds the fields of the message's type (`type`, `caption`, `media_id`, `location`,
    …, docs/messages.md); `file` a file the Python API read. Without them it is a text.
    """
    errors: Errors = {}
    recipient = message_fields.recipient(to, errors)
    instance_errors: Errors = {}
    resolved = _resolve_instance(instance, instance_errors)
    fields = {**(content or {}), "text": text}
    checked = message_content.check(fields, resolved, errors, file=file, check_text=_check_text)
    for name, reasons in instance_errors.items():
        errors.setdefault(name, []).extend(reasons)
    not_before = _parse_time(send_after, "send_after", errors)
    expiry = _parse_time(expires_at, "expires_at", errors)
    if expiry is not None and expiry <= timezone.now():
        _add(errors, "expires_at", _("The expiry time is already past."))
    elif expiry is not None and not_before is not None and expiry <= not_before:
        _add(errors, "expires_at", _("The expiry time must be after send_after."))
    level = _priority(priority, errors)
    key = _idempotency_key(idempotency_key, errors)
    stored_metadata = validate_metadata(metadata, errors)
    if errors or resolved is None or level is None:
        raise MessageValidationError(errors)
    return SendRequest(
        instance=resolved,
        recipient=recipient,
        body=checked.body,
        priority=level,
        not_before=not_before,
        expires_at=expiry,
        idempotency_key=key,
        metadata=stored_metadata,
        content=checked,
    )


def api_error_body(exc: MessageValidationError) -> dict[str, Any]:
    first = next(iter(exc.errors.values()), [""])
    return {"message": first[0] if first else "", "errors": exc.errors}
