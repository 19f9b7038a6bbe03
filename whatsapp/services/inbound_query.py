"""Listing inbound messages: filters, newest first, an opaque cursor. The Python and REST APIs
share it, with the messages' rules for text, times, page sizes and cursors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from whatsapp.models import InboundMessage, Instance
from whatsapp.phones import InvalidPhone, normalize
from whatsapp.services.message_query import (
    decode_cursor,
    encode_cursor,
    page_limit,
    parse_instant,
    text_filter,
)
from whatsapp.services.outbox import MessageValidationError

FILTERS = ("instance", "sender", "chat", "since", "limit", "cursor")


@dataclass(frozen=True)
class InboundPage:
    results: list[InboundMessage]
    next_cursor: str | None


def cursor_of(row: InboundMessage) -> str:
    return encode_cursor(row.received_at, row.pk)


def _party(name: str, value: str, errors: dict[str, list[str]]) -> str | None:
    """A sender or chat as stored: a group's id or a LID as given, a phone number as digits."""
    if "@" in value:
        return value
    try:
        return normalize(value)
    except InvalidPhone as exc:
        errors[name] = [str(exc)]
        return None


def _filtered(
    rows: QuerySet[InboundMessage],
    instances: QuerySet[Instance],
    filters: dict[str, Any],
    errors: dict[str, list[str]],
) -> QuerySet[InboundMessage]:
    slug = text_filter("instance", filters.get("instance"), errors)
    if slug:
        instance = instances.filter(slug=slug).first()
        if instance is None:
            errors["instance"] = [_("There is no such instance, or this key may not use it.")]
        else:
            rows = rows.filter(instance=instance)
    sender = text_filter("sender", filters.get("sender"), errors)
    if sender:
        wanted = _party("sender", sender, errors)
        rows = rows.filter(Q(sender=wanted) | Q(sender_lid=wanted))
    chat = text_filter("chat", filters.get("chat"), errors)
    if chat:
        rows = rows.filter(chat=_party("chat", chat, errors))
    since = filters.get("since")
    if since is not None:  # "" included: an empty time is a mistake, not "any time"
        try:
            rows = rows.filter(received_at__gte=parse_instant(since))
        except (ValueError, OverflowError):
            errors["since"] = [_("Enter a date and time in ISO 8601, e.g. 2030-01-31T14:30:00Z.")]
    cursor = text_filter("cursor", filters.get("cursor"), errors)
    if cursor:
        try:
            when, ident = decode_cursor(cursor)
            pk = int(ident)
            rows = rows.filter(Q(received_at__lt=when) | Q(received_at=when, pk__lt=pk))
        except (ValueError, UnicodeDecodeError, OverflowError):
            errors["cursor"] = [_("This cursor is not one this API gave out.")]
    return rows


def list_inbound(
    within: QuerySet[InboundMessage] | None = None,
    instances: QuerySet[Instance] | None = None,
    **filters: Any,
) -> InboundPage:
    """Newest first. Filters: FILTERS; raises MessageValidationError naming each bad one.

    `within` is what the caller may read and `instances` the instances it may name (an API key's);
    everything by default.
    """
    errors: dict[str, list[str]] = {
        name: [_("This filter is not known.")] for name in filters if name not in FILTERS
    }
    rows = within if within is not None else InboundMessage.objects.all()
    usable = instances if instances is not None else Instance.objects.all()
    queryset = _filtered(rows.select_related("instance", "media__file"), usable, filters, errors)
    limit = page_limit(filters.get("limit"), errors)
    if errors:
        raise MessageValidationError(errors)
    page = list(queryset.order_by("-received_at", "-pk")[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return InboundPage(results=page, next_cursor=cursor_of(page[-1]) if more and page else None)


def get_inbound(ident: object, within: QuerySet[InboundMessage] | None = None) -> InboundMessage:
    """One inbound message by its id; InboundMessage.DoesNotExist when it is not there or not
    readable (an id that is not a number is not there either)."""
    rows = within if within is not None else InboundMessage.objects.all()
    if isinstance(ident, bool) or not isinstance(ident, int | str):
        raise InboundMessage.DoesNotExist
    text = str(ident).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise InboundMessage.DoesNotExist
    return rows.select_related("instance", "media__file").get(pk=int(text))
