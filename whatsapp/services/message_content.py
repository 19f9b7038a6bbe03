"""What a message carries, by its type: text, a file (one of three sources), a location, a
contact card; and whether it replies to another message.

A file comes as the id of an upload (`media_id`), as base64 in the request (`media_base64`, up to
1 MB), as a URL a worker fetches (`media_url`), or, from Python, as bytes, a path or a file object
(read once into a `Prepared`). Its type is read from its bytes and must suit the message's type;
when no type is given it is taken from the bytes. Nothing is stored here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from django.utils.translation import gettext as _

from whatsapp import urlfetch
from whatsapp.gateway.values import has_unstorable
from whatsapp.models import Instance, MediaFile, OutboundMessage
from whatsapp.models.message import CAPTIONED_KINDS, MEDIA_KINDS, MessageKind
from whatsapp.services import media_store, media_types, message_fields
from whatsapp.services.message_fields import Errors, add

# Inline base64 is for small files; larger ones are uploaded (POST /media) or fetched by URL.
MAX_INLINE_BYTES = 1024 * 1024
MEDIA_SOURCES = ("media_id", "media_base64", "media_url")
# The fields each type uses besides the ones every message has.
TYPE_FIELDS: dict[str, frozenset[str]] = {
    MessageKind.TEXT: frozenset({"text"}),
    MessageKind.LOCATION: frozenset({"location"}),
    MessageKind.CONTACT: frozenset({"contact"}),
    **{
        kind: frozenset(
            {*MEDIA_SOURCES, "filename", *(("caption",) if kind in CAPTIONED_KINDS else ())}
        )
        for kind in MEDIA_KINDS
    },
}
CONTENT_FIELDS = frozenset().union(*TYPE_FIELDS.values())
# The gateway's send-location and contact-vcard routes take no quoted message (contract §2.5-6).
NO_REPLY = (MessageKind.LOCATION, MessageKind.CONTACT)


@dataclass(frozen=True)
class Content:
    kind: str = MessageKind.TEXT
    body: str = ""
    filename: str = ""
    media: MediaFile | None = None
    prepared: media_store.Prepared | None = None
    media_url: str = ""
    data: dict[str, Any] | None = None
    reply_to: OutboundMessage | None = None
    quoted_id: str = ""

    @property
    def sha256(self) -> str | None:
        if self.prepared is not None:
            return self.prepared.sha256
        return self.media.sha256 if self.media is not None else None

    def canonical(self) -> dict[str, Any]:
        """What tells two requests apart beyond the text (only what is set, so text messages
        keep the fingerprints they had before)."""
        parts: dict[str, Any] = {
            "type": self.kind if self.kind != MessageKind.TEXT else None,
            "filename": self.filename or None,
            "sha256": self.sha256,
            "media_url": self.media_url or None,
            "content": self.data,
            "reply_to": str(self.reply_to.pk) if self.reply_to else (self.quoted_id or None),
        }
        return {key: value for key, value in parts.items() if value is not None}


def _kind(item: Mapping[str, Any], file: media_store.Prepared | None, errors: Errors) -> str:
    value = item.get("type")
    if value is None or value == "":
        if file is not None or any(item.get(f) not in (None, "") for f in MEDIA_SOURCES):
            return ""  # a file's kind, read from its bytes once they are known
        if item.get("location") is not None:
            return MessageKind.LOCATION
        if item.get("contact") is not None:
            return MessageKind.CONTACT
        return MessageKind.TEXT
    if isinstance(value, str) and value in MessageKind.values:
        return value
    add(errors, "type", _("Use one of: %(types)s.") % {"types": ", ".join(MessageKind.values)})
    return ""


def _media_id(value: object, errors: Errors) -> MediaFile | None:
    try:
        pk = uuid.UUID(value) if isinstance(value, str) else None
    except ValueError:
        pk = None
    found = MediaFile.objects.filter(pk=pk).first() if pk else None
    if found is None:
        add(errors, "media_id", _("There is no such media file; upload it first."))
    return found


def _inline(value: object, errors: Errors) -> media_store.Prepared | None:
    # Base64 grows by a third: refuse a too-long text before decoding it.
    if not isinstance(value, str) or len(value) > MAX_INLINE_BYTES * 4 // 3 + 200:
        if isinstance(value, str):
            add(
                errors,
                "media_base64",
                _("Inline files are at most 1 MB; upload larger ones (POST /media) or give a URL."),
            )
        else:
            add(errors, "media_base64", _("Give the file as base64 text."))
        return None
    try:
        data = media_store.decode_base64(value)
    except ValueError:
        add(errors, "media_base64", _("This is not valid base64."))
        return None
    if len(data) > MAX_INLINE_BYTES:
        add(errors, "media_base64", _("Inline files are at most 1 MB; upload larger ones."))
        return None
    return media_store.from_bytes(data)


def _url(value: object, errors: Errors) -> str:
    if not isinstance(value, str) or not value.strip():
        add(errors, "media_url", _("Give the file's http or https address."))
        return ""
    url = value.strip()
    problem = "too long" if len(url) > 2048 else urlfetch.check_url(url)
    if problem or has_unstorable(url) or not url.isprintable():
        add(
            errors,
            "media_url",
            _("Give the file's http or https address (at most 2048 characters)."),
        )
        return ""
    return url


def _source(
    item: Mapping[str, Any], file: media_store.Prepared | None, errors: Errors
) -> tuple[media_store.Prepared | None, MediaFile | None, str]:
    given = [f for f in MEDIA_SOURCES if item.get(f) not in (None, "")]
    if file is not None:
        given.append("file")
    if len(given) != 1:
        field = given[-1] if given else "media_id"
        add(errors, field, _("Give the file once: media_id, media_base64 or media_url."))
        return None, None, ""
    if file is not None:
        return file, None, ""
    if given[0] == "media_id":
        return None, _media_id(item["media_id"], errors), ""
    if given[0] == "media_base64":
        return _inline(item["media_base64"], errors), None, ""
    return None, None, _url(item["media_url"], errors)


def _media(
    kind: str, item: Mapping[str, Any], file: media_store.Prepared | None, errors: Errors
) -> Content:
    prepared, media, url = _source(item, file, errors)
    field = (
        "file"
        if file is not None
        else next((f for f in MEDIA_SOURCES if item.get(f) not in (None, "")), "media_id")
    )
    mime, size = (prepared.mime, prepared.size) if prepared else (None, 0)
    if media is not None:
        mime, size = media.mime_type, media.size
    if not kind and url:
        add(errors, "type", _("Say which type of message a media_url is (image, document, …)."))
    elif prepared is not None or media is not None:
        kind = kind or media_types.default_kind(mime or "")
        problem = media_types.problem(kind, mime, size)
        if problem:
            add(errors, field, problem)
    name = message_fields.filename(item.get("filename"), errors)
    if not name and prepared is not None:
        name = message_fields.filename(prepared.filename, {})
    body = message_fields.caption(item.get("caption"), errors) if kind in CAPTIONED_KINDS else ""
    return Content(kind or MessageKind.DOCUMENT, body, name, media, prepared, url)


def _label(kind: str) -> str:
    return str(MessageKind(kind).label).lower()


def _unused(kind: str, item: Mapping[str, Any], file: object, errors: Errors) -> None:
    allowed = TYPE_FIELDS.get(kind, CONTENT_FIELDS)
    for field in sorted(CONTENT_FIELDS - allowed):
        if item.get(field) not in (None, ""):
            reason = _("A message of type %(type)s does not use this field.") % {
                "type": _label(kind)
            }
            add(errors, field, reason)
    if file is not None and kind not in MEDIA_KINDS:
        add(
            errors,
            "file",
            _("A message of type %(type)s carries no file.") % {"type": _label(kind)},
        )


def check(
    item: Mapping[str, Any],
    instance: Instance | None,
    errors: Errors,
    *,
    file: media_store.Prepared | None = None,
    check_text: Callable[[object, Errors], str],
) -> Content:
    """The content of one message; reasons go to `errors`. `check_text(text, errors)` is the
    text rule shared with plain text messages."""
    kind = _kind(item, file, errors)
    if "type" in errors:
        return Content()  # the type's fields cannot be judged against an unknown type
    if kind and kind not in MEDIA_KINDS:
        _unused(kind, item, file, errors)
    content = Content(kind=kind or MessageKind.TEXT)
    if kind == MessageKind.TEXT:
        content = Content(body=check_text(item.get("text"), errors))
    elif kind == MessageKind.LOCATION:
        content = Content(kind, data=message_fields.location(item.get("location"), errors))
    elif kind == MessageKind.CONTACT:
        content = Content(kind, data=message_fields.contact(item.get("contact"), errors))
    elif kind in MEDIA_KINDS or not kind:
        content = _media(kind, item, file, errors)
        _unused(content.kind, item, None, errors)
    ours, quoted = message_fields.reply_to(item.get("reply_to"), instance, errors)
    if (ours or quoted) and content.kind in NO_REPLY:
        reason = _("The gateway cannot send a %(type)s as a reply.") % {
            "type": _label(content.kind)
        }
        add(errors, "reply_to", reason)
    return replace(content, reply_to=ours, quoted_id=quoted)
