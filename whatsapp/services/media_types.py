"""What a file is, read from its bytes, and what each kind of message may carry.

The type is never taken from a client's file name or Content-Type: `filetype` reads the magic
numbers of the first bytes. Plain text has none, so a head that is valid UTF-8 without control
characters is called text/plain (documents only).
"""

from __future__ import annotations

import filetype
from django.utils.translation import gettext as _

from whatsapp.conf import conf
from whatsapp.models.media import MediaKind

# filetype reads at most this many bytes (its own constant, _NUM_SIGNATURE_BYTES).
HEAD_BYTES = 8192
TEXT = "text/plain"

IMAGES = frozenset({"image/jpeg", "image/png", "image/webp"})
VIDEOS = frozenset({"video/mp4", "video/3gpp"})
# What WhatsApp plays: AAC, MP4 audio, AMR, MP3 and OGG (Opus).
AUDIO = frozenset({"audio/aac", "audio/mp4", "audio/amr", "audio/mpeg", "audio/ogg"})
DOCUMENTS = frozenset(
    {
        "application/pdf",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
        "application/rtf",
        "application/epub+zip",
        "application/zip",
        "image/gif",
        TEXT,
    }
)
ALLOWED: dict[str, frozenset[str]] = {
    MediaKind.IMAGE: IMAGES,
    MediaKind.VIDEO: VIDEOS,
    MediaKind.AUDIO: AUDIO,
    MediaKind.VOICE: AUDIO,
    # Any allowed file can go as a document, keeping its name (a photo as a file, say).
    MediaKind.DOCUMENT: DOCUMENTS | IMAGES | VIDEOS | AUDIO,
}
SENDABLE = frozenset().union(*ALLOWED.values())
EXTENSIONS = {TEXT: "txt", "audio/ogg": "ogg", "audio/mpeg": "mp3", "audio/mp4": "m4a"}


def _looks_like_text(head: bytes) -> bool:
    if not head:
        return False
    try:
        # A multi-byte character may be cut at the end of the head.
        text = head.decode("utf-8") if len(head) < HEAD_BYTES else head[:-4].decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch.isprintable() or ch in "\t\r\n\f" for ch in text)


def sniff(head: bytes) -> str | None:
    """The MIME type the first bytes show, or None when they match nothing known."""
    kind = filetype.guess(head[:HEAD_BYTES])
    if kind is not None:
        return str(kind.mime)
    return TEXT if _looks_like_text(head[:HEAD_BYTES]) else None


def default_kind(mime: str) -> str:
    """The kind a file goes as when the caller did not say: by its type, else a document."""
    for kind in (MediaKind.IMAGE, MediaKind.VIDEO, MediaKind.AUDIO):
        if mime in ALLOWED[kind]:
            return kind
    return MediaKind.DOCUMENT


def max_bytes(kind: str) -> int:
    caps = conf.MEDIA_MAX_BYTES
    return int(caps.get(kind) or caps.get(MediaKind.DOCUMENT) or 0)


def largest_cap() -> int:
    """The largest file any kind may carry: the cap of an upload, before its kind is known."""
    return max(int(v) for v in conf.MEDIA_MAX_BYTES.values())


def cap_for(mime: str) -> int:
    """The largest file of this type that some kind of message may carry."""
    return max((max_bytes(k) for k, allowed in ALLOWED.items() if mime in allowed), default=0)


def extension(mime: str) -> str:
    if mime in EXTENSIONS:
        return EXTENSIONS[mime]
    found = filetype.get_type(mime=mime)
    return str(found.extension) if found is not None else "bin"


def default_filename(kind: str, filename: str, mime: str) -> str:
    """The name a file goes with when the message gives none: its own, else `<kind>.<ext>`."""
    return filename or f"{kind}.{extension(mime)}"


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".rstrip("0").rstrip(".")


def label(kind: str) -> str:
    return str(MediaKind(kind).label).lower() if kind in MediaKind.values else kind


def problem(kind: str, mime: str | None, size: int) -> str | None:
    """Why a file of this type and size cannot go as `kind`; None when it can."""
    if size == 0:
        return _("The file is empty.")
    if mime is None or mime not in ALLOWED.get(kind, frozenset()):
        allowed = ", ".join(sorted(extension(m) for m in ALLOWED.get(kind, frozenset())))
        return _(
            "The file's content is not an allowed type for a message of type %(kind)s "
            "(found: %(found)s; allowed: %(allowed)s)."
        ) % {
            "kind": label(kind),
            "found": mime or _("unknown"),
            "allowed": allowed,
        }
    cap = max_bytes(kind)
    if size > cap:
        return _(
            "The file is too big: %(size)s MB; a message of type %(kind)s takes at most %(max)s MB."
        ) % {
            "size": megabytes(size),
            "max": megabytes(cap),
            "kind": label(kind),
        }
    return None
