"""Files people send to us: downloaded by a worker through the gateway into the media storage.

The webhook (`onmessage`) only describes the file (the deploy's gateway does not auto-download:
deploy/wppconnect.json), so storing the inbound message also records an `InboundMedia` row and
rings a worker. The worker claims it (token and lease), asks the gateway's download-media route
for the file (streamed into a temporary file), stores it content-addressed like every file, and
marks the row done. A gateway that is away or a worker that dies leaves the row pending for the
sweep; an answer that says the file cannot be had (expired on WhatsApp's servers) fails it.

`describe()` is what events and pages show of it: id, type, size and a URL the application
fetches with its API key.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.urls import reverse

from whatsapp import doorbell
from whatsapp.conf import conf
from whatsapp.crypto import SecretUnreadable
from whatsapp.gateway import GatewayError, values
from whatsapp.models import InboundMedia, InboundMessage
from whatsapp.models.media import MediaKind, WorkState
from whatsapp.services import claims, media_store, media_types
from whatsapp.services.gateway import client_for

logger = logging.getLogger(__name__)

# WhatsApp's message types that carry a file (companion contract §7.2), and what we call them.
GATEWAY_KINDS = {
    "image": MediaKind.IMAGE,
    "video": MediaKind.VIDEO,
    "audio": MediaKind.AUDIO,
    "ptt": MediaKind.VOICE,
    "document": MediaKind.DOCUMENT,
    "sticker": MediaKind.STICKER,
}
# Above the messages queue's hard limit: past it the downloading worker is surely gone.
DOWNLOAD_LEASE = timedelta(seconds=90)
PENDING_GRACE = timedelta(seconds=30)
MAX_ATTEMPTS = 5


Listener = Callable[[int, str], None]
_listeners: list[Listener] = []


def on_finished(listener: Listener) -> Listener:
    """Register `listener(inbound_message_id, state)`, called once a received file is stored
    ("done") or given up on ("failed"), inside the transaction that records it: where an event
    about the message (`message.received`) can be written once its file can be fetched."""
    _listeners.append(listener)
    return listener


def remove_listener(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def _finish(row: InboundMedia, token: Any, state: str, **fields: Any) -> bool:
    with transaction.atomic():
        if not claims.finish(InboundMedia, row.pk, token, state, **fields):
            return False
        if state in (WorkState.DONE, WorkState.FAILED):
            for listener in list(_listeners):
                listener(row.inbound_id, state)
    return True


def note(inbound: InboundMessage, payload: dict[str, Any]) -> InboundMedia | None:
    """Record the file an inbound message carries, and ring a worker to download it."""
    kind = GATEWAY_KINDS.get(values.text(payload.get("type"), 30))
    if kind is None:
        return None
    size = values.small_int(payload.get("size"), 0, 2**62)
    media, created = InboundMedia.objects.get_or_create(
        inbound=inbound,
        defaults={
            "kind": kind,
            "declared_mime_type": values.text(payload.get("mimetype"), 100),
            "declared_size": size,
            "filename": values.text(payload.get("filename"), 255),
            "caption": values.text(payload.get("caption"), 5000),
        },
    )
    if created:
        doorbell.ring(doorbell.DOWNLOAD_INBOUND_MEDIA, str(media.pk))
    return media


def _download(row: InboundMedia) -> media_store.Prepared:
    cap = media_types.largest_cap()
    expected = row.declared_size or cap
    # Within the messages queue's time limits; a larger file is tried again by the sweep.
    read = min(float(conf.READ_TIMEOUT) + expected / int(conf.MEDIA_MIN_THROUGHPUT), 40.0)
    client = client_for(row.inbound.instance)
    with tempfile.NamedTemporaryFile(prefix="whatsapp-inbound-", delete=False) as sink:
        path = sink.name
    try:
        with open(path, "wb") as sink:
            client.download_media(row.inbound.gateway_id, sink, max_bytes=cap, read_timeout=read)
        prepared = media_store.from_path(path, row.filename, limit=cap)
    except BaseException:
        os.unlink(path)
        raise
    prepared.owned = True  # the temporary file goes once the bytes are stored
    return prepared


def run(media_id: int | str) -> str:
    claimed = claims.claim(InboundMedia, media_id, DOWNLOAD_LEASE)
    if claimed is None:
        return "not claimed"
    row, token = claimed
    row = InboundMedia.objects.select_related("inbound__instance").get(pk=row.pk)
    try:
        prepared = _download(row)
    except (GatewayError, SecretUnreadable) as exc:
        permanent = isinstance(exc, GatewayError) and exc.delivered == "no" and exc.permanent
        if permanent or row.attempts >= MAX_ATTEMPTS:
            _finish(row, token, WorkState.FAILED, error=str(exc)[:500])
            return "failed"
        # The gateway away, the session down: the sweep tries again after its grace.
        _finish(row, token, WorkState.PENDING, error=str(exc)[:500])
        return "later"
    try:
        media = media_store.save(prepared)
    finally:
        prepared.close()
    _finish(row, token, WorkState.DONE, file=media, error="")
    return "stored"


def describe(inbound: InboundMessage) -> dict[str, Any] | None:
    """The file of an inbound message for events and pages: `{"id", "type", "size", "mime_type",
    "url", "state"}` (id, size, type and url are None until it is downloaded); None when the
    message carries no file. `url` is absolute (PUBLIC_URL) and needs an API key."""
    try:
        row = inbound.media
    except InboundMedia.DoesNotExist:
        return None
    file = row.file if row.state == WorkState.DONE else None
    return {
        "id": str(file.pk) if file else None,
        "type": row.kind,
        "size": file.size if file else None,
        "mime_type": file.mime_type if file else None,
        "filename": row.filename or None,
        "url": api_url(file.pk) if file else None,
        "state": row.state,
    }


def api_url(media_id: Any) -> str:
    return conf.PUBLIC_URL.rstrip("/") + reverse("api-media", args=[str(media_id)])


def _given_up(pks: list[Any]) -> None:
    for inbound_id in InboundMedia.objects.filter(pk__in=pks).values_list("inbound_id", flat=True):
        for listener in list(_listeners):
            listener(inbound_id, WorkState.FAILED)


def sweep(now: datetime) -> int:
    return claims.sweep(
        InboundMedia,
        now,
        task=doorbell.DOWNLOAD_INBOUND_MEDIA,
        grace=PENDING_GRACE,
        max_attempts=MAX_ATTEMPTS,
        on_failed=_given_up,
    )
