"""Masking of personal data before it reaches a log line, a repr or an exception message."""

from __future__ import annotations

import re

# Runs of 8+ digits are phone numbers (or contain one, as in message ids such as
# "true_5521999999999@c.us_3EB0..."); shorter runs (HTTP codes, counts) stay readable.
_DIGIT_RUN = re.compile(r"\d{8,}")


def mask_phone(phone: str | None) -> str:
    """Return ``phone`` with the middle digits hidden: ``5521999999999`` -> ``5521*****9999``.

    Anything after an ``@`` (``@c.us``, ``@lid``) is kept, since it is not personal.
    """
    if not phone:
        return ""
    number, at, suffix = phone.partition("@")
    digits = re.sub(r"\D", "", number)
    if len(digits) <= 4:
        masked = "*" * len(digits)
    elif len(digits) <= 8:
        masked = "*" * (len(digits) - 2) + digits[-2:]
    else:
        masked = digits[:4] + "*" * (len(digits) - 8) + digits[-4:]
    return masked + at + suffix


def redact_text(text: str) -> str:
    """Mask every phone-like run of digits inside free text (server messages, ids)."""
    return _DIGIT_RUN.sub(lambda match: mask_phone(match.group(0)), text)
