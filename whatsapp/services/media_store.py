"""Media files: read once (hash, size, type), stored once per content, streamed, pruned.

Files live in Django's storage under `STORAGES[WHATSAPP["MEDIA_STORAGE"]]` (the file system under
`var/` in the reference host; S3 and others through django-storages), named by their SHA-256.
They are never served by the storage itself: the dashboard and the API stream them to callers
who may read them.

A file is read in chunks and kept on disk (a temporary file) until it is stored, so a large one is
never held in memory, let alone twice. A row is only ever used after an UPDATE of its
`last_used_at`, and pruning deletes a file while it holds the row locked: a use waits for a prune
in progress and then finds the row gone (and stores the file again), never a row without a file.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, Any

from django.core.files import File
from django.core.files.storage import Storage, storages
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from whatsapp.conf import conf
from whatsapp.models import MediaFile, OutboundMessage
from whatsapp.models.media import storage_name
from whatsapp.models.message import FINAL_STATUSES
from whatsapp.services import media_types

logger = logging.getLogger(__name__)

CHUNK = 64 * 1024
PRUNE_BATCH = 200


class TooBig(ValueError):
    """The stream went past its cap; reading stopped there."""


def storage() -> Storage:
    return storages[conf.MEDIA_STORAGE]


@dataclass
class Prepared:
    """A file read once: its hash, size and sniffed type, its bytes in memory or in a temp file."""

    sha256: str
    size: int
    mime: str | None
    filename: str = ""
    data: bytes | None = None
    path: str | None = None
    # A temporary file this object made and deletes on close (not an upload Django owns).
    owned: bool = False
    _closed: bool = field(default=False, repr=False)

    @contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        if self.data is not None:
            import io

            yield io.BytesIO(self.data)
            return
        assert self.path is not None
        with open(self.path, "rb") as handle:
            yield handle

    def close(self) -> None:
        if self.owned and self.path and not self._closed:
            self._closed = True
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass


def from_bytes(data: bytes, filename: str = "") -> Prepared:
    return Prepared(
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        mime=media_types.sniff(data[: media_types.HEAD_BYTES]),
        filename=filename,
        data=data,
    )


def decode_base64(text: str) -> bytes:
    """Standard base64 (a `data:` prefix allowed), strictly; ValueError otherwise."""
    if text.startswith("data:"):
        _header, comma, text = text.partition(",")
        if not comma:
            raise ValueError("no comma in the data URL")
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None


def _digest(chunks: Iterator[bytes], sink: IO[bytes] | None, limit: int) -> tuple[str, int, bytes]:
    sha = hashlib.sha256()
    size = 0
    head = b""
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise TooBig(size)
        if len(head) < media_types.HEAD_BYTES:
            head += chunk[: media_types.HEAD_BYTES - len(head)]
        sha.update(chunk)
        if sink is not None:
            sink.write(chunk)
    return sha.hexdigest(), size, head


def _read_chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            return
        yield chunk


def from_chunks(chunks: Iterator[bytes], filename: str = "", *, limit: int) -> Prepared:
    """Copy a stream of chunks to a temporary file, hashing as it goes; TooBig past `limit`."""
    handle = tempfile.NamedTemporaryFile(prefix="whatsapp-media-", delete=False)
    try:
        with handle:
            sha, size, head = _digest(chunks, handle, limit)
    except BaseException:
        os.unlink(handle.name)
        raise
    return Prepared(sha, size, media_types.sniff(head), filename, path=handle.name, owned=True)


def from_stream(stream: IO[bytes], filename: str = "", *, limit: int) -> Prepared:
    return from_chunks(_read_chunks(stream), filename, limit=limit)


def from_path(path: str, filename: str = "", *, limit: int) -> Prepared:
    """A file already on disk (an upload's temporary file): read once, never copied."""
    with open(path, "rb") as handle:
        sha, size, head = _digest(_read_chunks(handle), None, limit)
    return Prepared(sha, size, media_types.sniff(head), filename, path=path)


def _write(prepared: Prepared, name: str) -> None:
    """Put the bytes at `name`, replacing a partial file an interrupted write left there."""
    store = storage()
    if store.exists(name):
        if store.size(name) == prepared.size:
            return
        store.delete(name)
    with prepared.open() as handle:
        saved = store.save(name, File(handle, name=os.path.basename(name)))
    if saved != name:  # a storage that renamed it would break content addressing
        store.delete(saved)
        raise RuntimeError(f"the media storage stored {name!r} as {saved!r}")


def touch(where: dict[str, Any], now: datetime) -> MediaFile | None:
    """Mark a file used (and lock its row until the caller's transaction ends); None when gone."""
    if not MediaFile.objects.filter(**where).update(last_used_at=now):
        return None
    return MediaFile.objects.filter(**where).first()


def save(prepared: Prepared, now: datetime | None = None) -> MediaFile:
    """The row of these bytes, storing them unless an identical file is already stored."""
    now = now or timezone.now()
    name = storage_name(prepared.sha256)
    for _try in range(3):
        with transaction.atomic():
            media = touch({"sha256": prepared.sha256}, now)
            if media is not None:
                if not storage().exists(name):  # lost outside our control: put it back
                    _write(prepared, name)
                return media
        _write(prepared, name)
        try:
            with transaction.atomic():
                return MediaFile.objects.create(
                    sha256=prepared.sha256,
                    size=prepared.size,
                    mime_type=prepared.mime or "application/octet-stream",
                    filename=prepared.filename[:255],
                    last_used_at=now,
                )
        except IntegrityError:
            continue  # stored by a concurrent request a moment ago: use that row
    raise RuntimeError("could not store the media file")


def open_file(media: MediaFile) -> File:
    return storage().open(media.storage_name, "rb")


def prune(now: datetime | None = None) -> int:
    """Files unused for MEDIA_RETENTION_DAYS that no unfinished message needs."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=conf.MEDIA_RETENTION_DAYS)
    needed = OutboundMessage.objects.filter(media=OuterRef("pk")).exclude(status__in=FINAL_STATUSES)
    removable = MediaFile.objects.filter(last_used_at__lt=cutoff).filter(~Exists(needed))
    removed = 0
    for pk in list(removable.values_list("pk", flat=True)[:PRUNE_BATCH]):
        with transaction.atomic():
            media = removable.select_for_update(skip_locked=True).filter(pk=pk).first()
            if media is None:
                continue  # in use right now
            try:
                storage().delete(media.storage_name)
            except OSError:
                logger.warning("media file %s could not be deleted; kept", media.pk)
                continue
            media.delete()
            removed += 1
    return removed
