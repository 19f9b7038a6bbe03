"""Checks of the fields that rich messages add: recipient, caption, filename, location, contact,
reply. Each adds its reasons to `errors` under the field's name and returns the clean value."""

from __future__ import annotations

import math
import re
import uuid
from typing import Any

from django.utils.translation import gettext as _

from whatsapp.gateway.values import has_unstorable
from whatsapp.models import Instance, OutboundMessage
from whatsapp.models.message import MessageStatus
from whatsapp.phones import InvalidPhone, normalize

Errors = dict[str, list[str]]

# A group id as the gateway gives it: new style `120363…@g.us`, old style `<phone>-<time>@g.us`.
GROUP_RE = re.compile(r"^(?:\d{10,25}|\d{6,15}-\d{9,11})@g\.us$")
# A contact WhatsApp addresses by its LID (contract §7.3): digits and `@lid`.
LID_RE = re.compile(r"^\d{6,25}@lid$")
# A serialized message id: `true_<chat>_<KEY>` (ours) or `false_<chat>_<KEY>[_<author>]`.
GATEWAY_ID_RE = re.compile(r"^(?:true|false)_[^\s_]+@[a-z.]+_[0-9A-Za-z]{6,64}(?:_\S+)?$")
MAX_CAPTION_LENGTH = 1024
MAX_FILENAME_LENGTH = 255
MAX_NAME_LENGTH = 256
# Not sendable as a reply: the message it answered never went out.
NEVER_SENT = (MessageStatus.FAILED, MessageStatus.CANCELLED, MessageStatus.EXPIRED)


def add(errors: Errors, field: str, reason: str) -> None:
    errors.setdefault(field, []).append(reason)


def is_group(recipient: str) -> bool:
    return recipient.endswith("@g.us")


def recipient(value: object, errors: Errors) -> str:
    """E.164 digits for a phone number; a group id or a LID as given."""
    if isinstance(value, str) and "@" in value:
        text = value.strip()
        if GROUP_RE.match(text) or LID_RE.match(text):
            return text
        add(errors, "to", _("Give a phone number, a group id (…@g.us) or a LID (…@lid)."))
        return ""
    try:
        return normalize(value)
    except InvalidPhone as exc:
        add(errors, "to", str(exc))
    return ""


def short_text(value: object, field: str, max_length: int, errors: Errors) -> str:
    """Optional text: absent or "" is ""; else a string without NUL or lone surrogates."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        add(errors, field, _("Give this as text."))
    elif len(value) > max_length:
        add(
            errors,
            field,
            _("This is too long: %(length)s characters, at most %(max)s.")
            % {"length": len(value), "max": max_length},
        )
    elif has_unstorable(value):
        add(errors, field, _("This contains a NUL character or a broken emoji (a lone surrogate)."))
    else:
        return value
    return ""


def caption(value: object, errors: Errors) -> str:
    return short_text(value, "caption", MAX_CAPTION_LENGTH, errors)


def filename(value: object, errors: Errors) -> str:
    name = short_text(value, "filename", MAX_FILENAME_LENGTH, errors)
    if name and ("/" in name or "\\" in name or not name.isprintable() or name in (".", "..")):
        add(
            errors, "filename", _("A file name has no folders (/ or \\) and no control characters.")
        )
        return ""
    return name.strip()


def _number(value: object, low: int, high: int, field: str, errors: Errors) -> float | None:
    # Compared before any conversion: a number with thousands of digits must not reach float().
    if isinstance(value, bool) or not isinstance(value, int | float):
        add(errors, field, _("Give a number."))
        return None
    if isinstance(value, float) and not math.isfinite(value):
        add(errors, field, _("Give a finite number."))
        return None
    if not low <= value <= high:
        add(errors, field, _("Use a number from %(low)s to %(high)s.") % {"low": low, "high": high})
        return None
    return float(value)


def location(value: object, errors: Errors) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        add(errors, "location", _("Give the location as an object with latitude and longitude."))
        return None
    unknown = [str(key) for key in value if key not in ("latitude", "longitude", "name", "address")]
    for key in unknown:
        add(errors, f"location.{key[:50]}", _("This field is not known."))
    lat = _number(value.get("latitude"), -90, 90, "location.latitude", errors)
    lng = _number(value.get("longitude"), -180, 180, "location.longitude", errors)
    name = short_text(value.get("name"), "location.name", MAX_NAME_LENGTH, errors)
    address = short_text(value.get("address"), "location.address", MAX_NAME_LENGTH, errors)
    if lat is None or lng is None or unknown:
        return None
    return {"latitude": lat, "longitude": lng, "name": name, "address": address}


def contact(value: object, errors: Errors) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        add(errors, "contact", _("Give the contact as an object with a name and phones."))
        return None
    unknown = [str(key) for key in value if key not in ("name", "phones")]
    for key in unknown:
        add(errors, f"contact.{key[:50]}", _("This field is not known."))
    name = short_text(value.get("name"), "contact.name", MAX_NAME_LENGTH, errors)
    if not name.strip() and "contact.name" not in errors:
        add(errors, "contact.name", _("Enter the contact's name."))
    phones = value.get("phones")
    numbers: list[str] = []
    if not isinstance(phones, list) or not phones:
        add(errors, "contact.phones", _("Give a list with the contact's phone number."))
    elif len(phones) > 1:
        # contact-vcard takes one WhatsApp id per card (contract §2.6).
        add(errors, "contact.phones", _("The gateway sends one phone number per contact card."))
    else:
        try:
            numbers = [normalize(phones[0])]
        except InvalidPhone as exc:
            add(errors, "contact.phones", str(exc))
    if not name.strip() or not numbers or unknown:
        return None
    return {"name": name.strip(), "phones": numbers}


def reply_to(
    value: object, instance: Instance | None, errors: Errors
) -> tuple[OutboundMessage | None, str]:
    """(one of our messages, "") or (None, the gateway id of the message replied to)."""
    if value is None or value == "":
        return None, ""
    if not isinstance(value, str) or len(value) > 200 or has_unstorable(value):
        add(errors, "reply_to", _("Give the id of a message: one of ours, or the gateway's id."))
        return None, ""
    try:
        ours = uuid.UUID(value)
    except ValueError:
        if GATEWAY_ID_RE.match(value):
            return None, value
        add(errors, "reply_to", _("Give the id of a message: one of ours, or the gateway's id."))
        return None, ""
    found = OutboundMessage.objects.filter(pk=ours).only("pk", "status", "instance_id").first()
    if found is None or (instance is not None and found.instance_id != instance.pk):
        add(errors, "reply_to", _("There is no such message on this number."))
    elif found.status in NEVER_SENT:
        add(errors, "reply_to", _("The message replied to was never sent."))
    else:
        return found, ""
    return None, ""
