"""The app's log filter, under the name the reference host's configuration used first."""

from __future__ import annotations

from whatsapp.logfilter import RedactSecrets, redact

__all__ = ["RedactSecrets", "redact"]
