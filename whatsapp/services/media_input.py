"""What the Python API takes as a file: bytes, a path, a file object or a Django `File`.

Each is read once (hash, size, type) without holding a large one in memory: a path or an
upload's temporary file is read where it is, a stream is copied to a temporary file.
"""

from __future__ import annotations

import os
from typing import IO

from django.core.files import File
from django.utils.translation import gettext as _

from whatsapp.services import media_store, media_types
from whatsapp.services.message_requests import MessageValidationError

FileLike = bytes | str | os.PathLike[str] | IO[bytes] | File


def prepare(file: FileLike, filename: str | None = None) -> media_store.Prepared:
    """Read a file once (hash, size, type) without holding a large one in memory."""
    cap = media_types.largest_cap()
    try:
        if isinstance(file, bytes | bytearray | memoryview):
            if len(file) > cap:
                raise media_store.TooBig(len(file))
            return media_store.from_bytes(bytes(file), filename or "")
        if isinstance(file, str | os.PathLike):
            path = os.fspath(file)
            if not os.path.isfile(path):
                raise MessageValidationError({"file": [_("There is no file at this path.")]})
            return media_store.from_path(path, filename or os.path.basename(path), limit=cap)
        if isinstance(file, File) and hasattr(file, "temporary_file_path"):
            name = filename or os.path.basename(file.name or "")
            file.flush()  # what was written to it, on disk before it is read from there
            return media_store.from_path(file.temporary_file_path(), name, limit=cap)
        if hasattr(file, "read"):
            name = filename or os.path.basename(str(getattr(file, "name", "") or ""))
            try:
                file.seek(0)  # a Django File that was read once already
            except (AttributeError, OSError, ValueError):
                pass  # a stream that cannot seek is read from where it is
            return media_store.from_stream(file, name, limit=cap)
    except media_store.TooBig:
        reason = _("The file is too big: at most %(max)s MB.")
        raise MessageValidationError(
            {"file": [reason % {"max": media_types.megabytes(cap)}]}
        ) from None
    raise MessageValidationError(
        {"file": [_("Give the file as bytes, a path, a file object or a Django File.")]}
    )
