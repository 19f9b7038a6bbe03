"""`metadata`: a small JSON object the application attaches to a message and gets back.

Checked before anything is written: PostgreSQL's jsonb refuses NUL characters and the database
driver refuses lone surrogates, either of which would otherwise surface as a server error.
"""

from __future__ import annotations

import json
import math
from typing import Any

from django.utils.translation import gettext as _

# Enough for an order id, a customer id and a few tags; events carry it to every webhook.
MAX_METADATA_BYTES = 4096
# Deeper nesting is never an application's bookkeeping, and a bound keeps the walk cheap.
MAX_METADATA_DEPTH = 16


def _walk_problem(value: object) -> str | None:
    """Why this value cannot be stored, or None; iterative, so depth cannot blow the stack."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_METADATA_DEPTH:
            return _("Nest metadata at most %(max)s levels deep.") % {"max": MAX_METADATA_DEPTH}
        if isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    return _("Metadata keys must be text.")
                stack.append((key, depth))
                stack.append((child, depth + 1))
        elif isinstance(item, list | tuple):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            if "\x00" in item:
                return _("Metadata cannot contain NUL characters.")
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return _("Metadata contains text that is not valid Unicode.")
        elif isinstance(item, float) and not math.isfinite(item):
            return _("Metadata numbers must be finite.")
        elif item is not None and not isinstance(item, bool | int | float):
            return _("Metadata holds JSON values only: text, numbers, true/false, null, lists.")
    return None


def validate_metadata(value: object, errors: dict[str, list[str]]) -> dict[str, Any] | None:
    """The metadata to store (None when absent or empty); adds a reason to `errors` if bad."""
    if value is None:
        return None
    if not isinstance(value, dict):
        errors.setdefault("metadata", []).append(_("Give metadata as a JSON object."))
        return None
    problem = _walk_problem(value)
    if problem is None:
        size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        if size > MAX_METADATA_BYTES:
            problem = _("Metadata is too large: %(size)s bytes, at most %(max)s.") % {
                "size": size,
                "max": MAX_METADATA_BYTES,
            }
    if problem is not None:
        errors.setdefault("metadata", []).append(problem)
        return None
    return value or None
