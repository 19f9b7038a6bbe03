"""Listing messages: filters, newest first, an opaque cursor. The Python and REST APIs share it."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from whatsapp.gateway import values
from whatsapp.models import OutboundMessage
from whatsapp.models.message import MessageStatus
from whatsapp.phones import InvalidPhone, normalize
from whatsapp.services.outbox import MessageValidationError

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
# ISO 8601 allows offsets up to ±24:00, but no zone on Earth is beyond ±14:00 and PostgreSQL
# refuses some in between; ±18:00 is the line the rest of the API draws too.
MAX_OFFSET = timedelta(hours=18)
TIME_FILTERS = (("created_after", "created_at__gte"), ("created_before", "created_at__lt"))
FILTERS = ("status", "instance", "recipient", "created_after", "created_before", "limit", "cursor")


@dataclass(frozen=True)
class MessagePage:
    results: list[OutboundMessage]
    next_cursor: str | None


def encode_cursor(when: datetime, ident: object) -> str:
    """An opaque cursor for keyset pages ordered by (time, id), newest first."""
    raw = f"{when.isoformat()}|{ident}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """(time, id text) of a cursor; ValueError, UnicodeDecodeError or OverflowError when it is
    not one `encode_cursor` gave."""
    padded = cursor + "=" * (-len(cursor) % 4)
    created, _sep, ident = base64.urlsafe_b64decode(padded).decode().partition("|")
    when = parse_datetime(created)
    if when is None or timezone.is_naive(when):
        raise ValueError(cursor)
    return when.astimezone(UTC), ident


def cursor_of(message: OutboundMessage) -> str:
    return encode_cursor(message.created_at, message.id)


def _from_cursor(cursor: str) -> tuple[datetime, UUID]:
    when, ident = decode_cursor(cursor)
    return when, UUID(ident)


def parse_instant(value: object) -> datetime:
    """An aware datetime in UTC from a datetime or ISO 8601 text; ValueError otherwise."""
    parsed = value if isinstance(value, datetime) else None
    if isinstance(value, str) and "\x00" not in value:
        parsed = parse_datetime(value.strip())
    if parsed is None:
        raise ValueError(value)
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    offset = parsed.utcoffset()
    if offset is None or abs(offset) > MAX_OFFSET:
        raise ValueError(value)
    return parsed.astimezone(UTC)  # OverflowError at the edges of the calendar


def text_filter(name: str, value: object, errors: dict[str, list[str]]) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or values.has_unstorable(value):
        errors[name] = [_("Give this filter as text, without NUL characters or lone surrogates.")]
        return None
    return value.strip()


def _statuses(value: object, errors: dict[str, list[str]]) -> list[str] | None:
    if isinstance(value, list | tuple):
        value = ",".join(str(v) for v in value)
    text = text_filter("status", value, errors)
    if text is None:
        return None
    wanted = [s.strip() for s in text.split(",") if s.strip()]
    bad = [s for s in wanted if s not in MessageStatus.values]
    if bad:
        errors["status"] = [
            _("Unknown status: %(bad)s. Use one of: %(all)s.")
            % {"bad": ", ".join(bad), "all": ", ".join(MessageStatus.values)}
        ]
    return wanted


def page_limit(value: object, errors: dict[str, list[str]]) -> int:
    if value is None or value == "":
        return DEFAULT_LIMIT
    try:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(value)
        limit = int(value)  # ValueError beyond 4,300 digits, too
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(limit)
    except ValueError:
        errors["limit"] = [_("Use a whole number from 1 to %(max)s.") % {"max": MAX_LIMIT}]
        return DEFAULT_LIMIT
    return limit


def _filtered(
    queryset: QuerySet[OutboundMessage], filters: dict[str, object], errors: dict[str, list[str]]
) -> QuerySet[OutboundMessage]:
    statuses = _statuses(filters.get("status"), errors)
    if statuses is not None:
        queryset = queryset.filter(status__in=statuses)
    slug = text_filter("instance", filters.get("instance"), errors)
    if slug:
        queryset = queryset.filter(instance__slug=slug)
    recipient = text_filter("recipient", filters.get("recipient"), errors)
    if recipient:
        if "@" in recipient:  # a group's id or a LID, as stored
            queryset = queryset.filter(recipient=recipient)
        else:
            try:
                queryset = queryset.filter(recipient=normalize(recipient))
            except InvalidPhone as exc:
                errors["recipient"] = [str(exc)]
    for field, lookup in TIME_FILTERS:
        value = filters.get(field)
        if value is None:
            continue
        try:
            queryset = queryset.filter(**{lookup: parse_instant(value)})
        except (ValueError, OverflowError):
            errors[field] = [_("Enter a date and time in ISO 8601, e.g. 2030-01-31T14:30:00Z.")]
    cursor = text_filter("cursor", filters.get("cursor"), errors)
    if cursor:
        try:
            created, ident = _from_cursor(cursor)
            queryset = queryset.filter(
                Q(created_at__lt=created) | Q(created_at=created, id__lt=ident)
            )
        except (ValueError, UnicodeDecodeError, OverflowError):
            errors["cursor"] = [_("This cursor is not one this API gave out.")]
    return queryset


def list_messages(
    within: QuerySet[OutboundMessage] | None = None, **filters: object
) -> MessagePage:
    """Newest first. Filters: FILTERS; raises MessageValidationError naming each bad one.

    `within` is what the caller may see (an API key's messages); every message by default.
    """
    errors: dict[str, list[str]] = {
        name: [_("This filter is not known.")] for name in filters if name not in FILTERS
    }
    rows = within if within is not None else OutboundMessage.objects.all()
    queryset = _filtered(rows.select_related("instance", "media"), filters, errors)
    limit = page_limit(filters.get("limit"), errors)
    if errors:
        raise MessageValidationError(errors)
    page = list(queryset.order_by("-created_at", "-id")[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return MessagePage(results=page, next_cursor=cursor_of(page[-1]) if more and page else None)
