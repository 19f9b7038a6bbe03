"""Defensive readers for values the gateway sends: anything may be missing, of the wrong type,
out of range or carry bytes a database refuses (NUL, lone surrogates).

Each reader returns a usable value or None (or ""); none raises, so one odd field never stops the
handling of the rest of a body or a webhook.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

# PostgreSQL text cannot hold NUL; UTF-8 cannot encode a lone surrogate (JSON's "\ud800").
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"

# WhatsApp's timestamps are Unix seconds; anything outside 2000-01-01 .. 2100-01-01 is noise
# (1e20 overflows Python's datetime, -1e15 predates it).
EARLIEST = 946_684_800
LATEST = 4_102_444_800


def clean_text(value: str) -> str:
    """The text with NUL and lone surrogates replaced by U+FFFD, so it can be stored."""
    return _UNSTORABLE.sub(REPLACEMENT, value)


def has_unstorable(value: str) -> bool:
    return _UNSTORABLE.search(value) is not None


def text(value: Any, max_length: int | None = None) -> str:
    """A string field: "" unless it is a string; cleaned and cut to `max_length`."""
    if not isinstance(value, str):
        return ""
    cleaned = clean_text(value)
    return cleaned[:max_length] if max_length is not None else cleaned


def small_int(value: Any, low: int, high: int) -> int | None:
    """An integer within [low, high]; None for anything else (bools, floats, huge numbers)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if low <= value <= high else None


def epoch_seconds(value: Any) -> int | None:
    """Unix seconds within a sane range, or None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if not EARLIEST <= value <= LATEST:
        return None
    return int(value)


def moment(value: Any) -> datetime | None:
    """A timestamp field as an aware datetime, or None when it is not a sane Unix time."""
    seconds = epoch_seconds(value)
    return datetime.fromtimestamp(seconds, tz=UTC) if seconds is not None else None


def clean_json(value: Any, max_depth: int = 64) -> Any:
    """A copy of decoded JSON that a database accepts: unstorable characters replaced in keys
    and strings, non-finite numbers and other oddities as strings. Raises ValueError when nested
    beyond max_depth.

    Iterative, so a deep document cannot exhaust the stack.
    """
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any, int]] = [(value, root, 0, 0)]
    while stack:
        item, parent, key, depth = stack.pop()
        if depth > max_depth:
            raise ValueError(f"nested deeper than {max_depth} levels")
        if isinstance(item, dict):
            copy: Any = {}
            for k, v in item.items():
                stack.append((v, copy, clean_text(str(k)), depth + 1))
        elif isinstance(item, list):
            copy = [None] * len(item)
            for index, v in enumerate(item):
                stack.append((v, copy, index, depth + 1))
        elif isinstance(item, str):
            copy = clean_text(item)
        elif isinstance(item, float) and not math.isfinite(item):
            copy = str(item)
        elif item is None or isinstance(item, bool | int | float):
            copy = item
        else:  # anything a lenient decoder produced (a number too long for int): its text
            copy = clean_text(str(item))
        parent[key] = copy
    return root[0]
