"""Decoding request bodies as JSON without letting any body raise something unexpected.

`json.loads` alone raises RecursionError for a document nested ~1,000 deep and a plain
ValueError ("Exceeds the limit (4300 digits) for integer string conversion") for a long number;
both used to become 500s. Here every failure is a `BadBody` with a message for the sender, and
a number too long to be a value anyone means stays a `HugeNumber`, which no validator accepts.
"""

from __future__ import annotations

import json
from typing import Any

from django.utils.translation import gettext as _

MAX_DEPTH = 64
# Longer integers are not quantities: keep them out of int() (and its size limit).
MAX_DIGITS = 100


class BadBody(ValueError):
    """The body cannot be used; `str(exc)` says why, in the reader's language."""


class HugeNumber:
    """An integer literal too long to convert; compares unequal to every real value."""

    def __init__(self, digits: str) -> None:
        self.digits = digits

    def __repr__(self) -> str:
        return f"HugeNumber(<{len(self.digits)} digits>)"

    def __str__(self) -> str:
        return self.digits


def _int(literal: str) -> int | HugeNumber:
    return int(literal) if len(literal.lstrip("-")) <= MAX_DIGITS else HugeNumber(literal)


def depth(value: Any, limit: int) -> int:
    """The nesting depth of decoded JSON, counted up to `limit + 1` (iteratively)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest


def loads(raw: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Decode UTF-8 JSON; raises BadBody for anything that is not a usable JSON document."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadBody(_("The request body is not UTF-8 text.")) from None
    try:
        data = json.loads(text, parse_int=_int)
    except RecursionError:
        raise BadBody(
            _("The request body is nested more than %(max)s levels deep.") % {"max": max_depth}
        ) from None
    except ValueError:
        raise BadBody(_("The request body is not valid JSON.")) from None
    if depth(data, max_depth) > max_depth:
        raise BadBody(
            _("The request body is nested more than %(max)s levels deep.") % {"max": max_depth}
        )
    return data
