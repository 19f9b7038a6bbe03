"""The inbox: conversations per contact (or group) and instance, their threads of received and
sent messages in order, read marks, and replies sent through the queue like any other send.

A conversation is an instance and a `chat` (InboundMessage.chat), which is written as a send's
`to`, so a thread's sent messages are the outbound rows with that recipient.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from whatsapp.models import InboundMessage, Instance, OutboundMessage
from whatsapp.services import outbox

CONVERSATIONS_SHOWN = 100
THREAD_SHOWN = 100


@dataclass(frozen=True)
class Conversation:
    instance: Instance
    chat: str
    name: str
    last_text: str
    last_type: str
    last_at: datetime
    unread: int
    # The last message was our reply (sent after the last one received).
    last_was_ours: bool = False

    @property
    def is_group(self) -> bool:
        return self.chat.endswith("@g.us")


@dataclass(frozen=True)
class Entry:
    """One line of a thread: a received message or a sent one, at its time."""

    at: datetime
    inbound: InboundMessage | None = None
    outbound: OutboundMessage | None = None

    @property
    def key(self) -> str:
        if self.inbound is not None:
            return f"in-{self.inbound.pk}"
        assert self.outbound is not None
        return f"out-{self.outbound.pk}"


def conversations(rows: QuerySet[InboundMessage]) -> list[Conversation]:
    """The latest conversations among `rows` (what the user may read), newest first by what
    people wrote; the last message shown is ours when we replied since."""
    latest = rows.filter(instance=OuterRef("instance"), chat=OuterRef("chat")).order_by(
        "-received_at", "-pk"
    )
    # Same instance as the received rows, which the user may read: no other restriction needed.
    ours = OutboundMessage.objects.filter(
        instance=OuterRef("instance"), recipient=OuterRef("chat")
    ).order_by("-created_at")
    grouped = (
        rows.exclude(chat="")
        .values("instance", "chat")
        .annotate(
            last_at=Max("received_at"),
            unread=Count("pk", filter=Q(read_at__isnull=True)),
            last_text=Subquery(latest.values("body")[:1]),
            last_type=Subquery(latest.values("type")[:1]),
            name=Subquery(latest.exclude(push_name="").values("push_name")[:1]),
            our_text=Subquery(ours.values("body")[:1]),
            our_kind=Subquery(ours.values("kind")[:1]),
            our_at=Subquery(ours.values("created_at")[:1]),
        )
        .order_by("-last_at")[:CONVERSATIONS_SHOWN]
    )
    items = list(grouped)
    instances = Instance.objects.in_bulk({item["instance"] for item in items})
    return [
        _conversation(item, instances[item["instance"]])
        for item in items
        if item["instance"] in instances
    ]


def _conversation(item: Mapping[str, Any], instance: Instance) -> Conversation:
    ours = item["our_at"] is not None and item["our_at"] > item["last_at"]
    return Conversation(
        instance=instance,
        chat=item["chat"],
        name=item["name"] or "",
        last_text=(item["our_text"] if ours else item["last_text"]) or "",
        last_type=(item["our_kind"] if ours else item["last_type"]) or "",
        last_at=item["our_at"] if ours else item["last_at"],
        unread=item["unread"],
        last_was_ours=ours,
    )


def thread(
    instance: Instance,
    chat: str,
    inbound: QuerySet[InboundMessage],
    sent: QuerySet[OutboundMessage],
) -> list[Entry]:
    """The last THREAD_SHOWN messages of a conversation, oldest first."""
    received = list(
        inbound.filter(instance=instance, chat=chat)
        .select_related("media__file")
        .order_by("-received_at", "-pk")[:THREAD_SHOWN]
    )
    outgoing = list(
        sent.filter(instance=instance, recipient=chat)
        .select_related("media", "instance")
        .order_by("-created_at")[:THREAD_SHOWN]
    )
    entries = [Entry(at=row.received_at, inbound=row) for row in received]
    entries += [Entry(at=row.created_at, outbound=row) for row in outgoing]
    entries.sort(key=lambda entry: entry.at)
    return entries[-THREAD_SHOWN:]


def mark_read(instance: Instance, chat: str, now: datetime | None = None) -> int:
    """A person saw the conversation: its received messages stop counting as unread."""
    unread = InboundMessage.objects.filter(instance=instance, chat=chat, read_at__isnull=True)
    return unread.update(read_at=now or timezone.now())


def version(entries: list[Entry]) -> str:
    """Changes whenever a thread would be drawn differently: a new message, a new status, a file
    downloaded."""
    parts: list[Any] = []
    for entry in entries:
        if entry.inbound is not None:
            media = getattr(entry.inbound, "media", None)
            parts.append((entry.key, media.state if media else ""))
        elif entry.outbound is not None:
            parts.append((entry.key, entry.outbound.status, entry.outbound.updated_at.isoformat()))
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def reply(instance: Instance, chat: str, text: object, *, key: object, by: str) -> OutboundMessage:
    """Queue a text to the conversation, paced like every send. `key` makes a repeated form
    submission the same message (an idempotency key); raises MessageValidationError or
    IdempotencyConflict."""
    return outbox.enqueue(instance, chat, text, idempotency_key=key, enqueued_by=by)
