"""Log filters applied to every handler: secrets in URLs never reach a log line."""

from __future__ import annotations

import logging
import re

# The gateway cannot sign webhooks, so their URL carries the instance's secret.
WEBHOOK_SECRET = re.compile(r"(/whatsapp/webhooks/[^/\s]+/)[^/\s\"]+")


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the logger's problem, not ours
            return True
        redacted = WEBHOOK_SECRET.sub(r"\1***", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
