"""What one send asks of the gateway, by the message's type, and how long it may take.

Every type goes through the same claim, attempt and outcome rules (services/send.py); only the
gateway call differs (one client method per route). A file's send may take longer than a text's:
its read timeout grows with its size (`MEDIA_MIN_THROUGHPUT`), and so do its task's time limits
and its lease, so that nothing declares a send lost while its call may still be running.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import IO

from django.utils.translation import gettext as _

from whatsapp.conf import conf
from whatsapp.gateway import GatewayClient, SentMessage
from whatsapp.gateway.media import Upload
from whatsapp.models import MediaFile, OutboundMessage
from whatsapp.models.message import MEDIA_KINDS, MessageKind
from whatsapp.queues import MESSAGES, TIME_LIMITS
from whatsapp.services import media_store, media_types
from whatsapp.services.message_fields import NEVER_SENT

# A send whose queue limit would end it sooner keeps these margins over its read timeout.
LIMIT_MARGIN = 15
SOFT_BEFORE_HARD = 10
LEASE_AFTER_HARD = 30
# Below Redis's visibility timeout (3600 s), so a long send is never delivered twice.
MAX_HARD_LIMIT = 1800
# How long a reply waits for the message it quotes to be sent, before looking again.
REPLY_WAIT_SECONDS = 5.0


class Unsendable(Exception):
    """The message can never be sent as it is (its file is gone); nothing reached the gateway."""


@dataclass(frozen=True)
class Budget:
    read_timeout: float | None
    soft_limit: int
    hard_limit: int

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.hard_limit + LEASE_AFTER_HARD)

    def time_limits(self) -> tuple[int, int] | None:
        """(soft, hard) for the send task when they differ from its queue's."""
        limits = (self.soft_limit, self.hard_limit)
        return None if limits == TIME_LIMITS[MESSAGES] else limits


def budget(size: int) -> Budget:
    """The read timeout and task limits of a send of `size` bytes of file (0 for none)."""
    soft, hard = TIME_LIMITS[MESSAGES]
    if size <= 0:
        return Budget(None, soft, hard)
    read = float(conf.READ_TIMEOUT) + size / max(1, int(conf.MEDIA_MIN_THROUGHPUT))
    hard = min(MAX_HARD_LIMIT, max(hard, int(float(conf.CONNECT_TIMEOUT) + read) + LIMIT_MARGIN))
    return Budget(read, hard - SOFT_BEFORE_HARD, hard)


def budget_of(message: OutboundMessage) -> Budget:
    return budget(message.media.size if message.media_id and message.media else 0)


def limits_of(ids: list[uuid.UUID]) -> dict[uuid.UUID, Budget]:
    """The budgets of the messages among `ids` that carry a file (one query)."""
    sized = OutboundMessage.objects.filter(pk__in=ids, media__isnull=False).values_list(
        "pk", "media__size"
    )
    return {pk: budget(size) for pk, size in sized}


def waits_for_quote(message: OutboundMessage) -> bool:
    """A reply to one of ours whose gateway id is not known yet, because it is not sent yet."""
    original = message.reply_to
    return (
        original is not None
        and not original.gateway_message_id
        and original.status not in NEVER_SENT
    )


def _quoted_id(message: OutboundMessage) -> str:
    if message.quoted_id:
        return message.quoted_id
    original = message.reply_to
    if original is None and message.reply_to_id is not None:
        original = OutboundMessage.objects.filter(pk=message.reply_to_id).first()
    if original is None:
        return ""
    if not original.gateway_message_id:
        raise Unsendable(_("The message it replies to was never sent."))
    return original.gateway_message_id


def _upload(message: OutboundMessage, media: MediaFile) -> Upload:
    @contextmanager
    def reader() -> Iterator[IO[bytes]]:
        with media_store.open_file(media) as handle:
            yield handle

    return Upload(
        reader,
        media.size,
        media.mime_type,
        message.filename or media.filename,
        media_types.extension(media.mime_type),
    )


def deliver(client: GatewayClient, message: OutboundMessage, limits: Budget) -> SentMessage:
    """The one gateway call of this try; raises GatewayError, or Unsendable before calling."""
    to, kind = message.recipient, message.kind
    quoted = _quoted_id(message)
    if kind == MessageKind.TEXT:
        if quoted:
            return client.send_reply(to, message.body, quoted)
        return client.send_text(to, message.body)
    data = message.content or {}
    if kind == MessageKind.LOCATION:
        return client.send_location(
            to,
            float(data["latitude"]),
            float(data["longitude"]),
            name=str(data.get("name") or ""),
            address=str(data.get("address") or ""),
        )
    if kind == MessageKind.CONTACT:
        return client.send_contact(to, str(data["phones"][0]), str(data["name"]))
    if kind not in MEDIA_KINDS:
        raise Unsendable(_("This type of message cannot be sent."))
    media = message.media
    if media is None or not media_store.storage().exists(media.storage_name):
        raise Unsendable(_("Its file is no longer stored; send it again with the file."))
    upload = _upload(message, media)
    if kind == MessageKind.VOICE:
        return client.send_voice(to, upload, quoted_id=quoted, read_timeout=limits.read_timeout)
    return client.send_file(
        to,
        upload,
        kind=kind,
        caption=message.body,
        quoted_id=quoted,
        read_timeout=limits.read_timeout,
    )
