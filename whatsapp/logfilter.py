"""One redaction filter for every log line: secrets and full phone numbers never reach a log.

Applied to the message, its arguments once formatted, the traceback and the stack (a
`DataError` traceback quotes the failing row: phone number and text). A host adds it to every
handler (`leguas/settings.py` does; so does its gunicorn access log, `leguas/gunicorn.py`):

    "filters": {"redact": {"()": "whatsapp.logfilter.RedactSecrets"}},
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

# The gateway cannot sign webhooks, so their URL carries the instance's secret: whatever the
# slug looks like (a space, an encoded character, a wrong one in a 404 line), the segment after
# it is hidden. The slug itself ends at the next "/".
WEBHOOK_PATH = re.compile(r"(/whatsapp/webhooks/[^/\"]{0,200}?/)[^/\s\"'?]+")
# Credentials in headers or text: "Bearer <token>", "Basic <base64>", our API keys (lw_…),
# WPPConnect's bcrypt tokens ($2b$10$… with "/" written "_") and secrets in its paths.
BEARER = re.compile(r"(?i)\b(bearer|basic|token)(\s+|=|:\s*)[A-Za-z0-9._~+/$=-]{6,}")
API_KEY = re.compile(r"\blw_[A-Za-z0-9_-]{10,}")
# Signing secrets of outgoing webhooks (Standard Webhooks: whsec_ and base64).
SIGNING_SECRET = re.compile(r"\bwhsec_[A-Za-z0-9+/=]{8,}")
BCRYPT = re.compile(r"\$2[aby]?\$\d{2}\$[./A-Za-z0-9_]{20,}")
SECRET_FIELD = re.compile(
    r"(?i)((?:secret_?key|secret|password|token|api_?key)[\"']?\s*[:=]\s*[\"']?)[^\s\"',&}]+"
)
# The gateway's secret-in-path routes: /api/<session>/<secret>/clear-session-data and friends.
SECRET_IN_PATH = re.compile(r"(/api/[^/\s]+/)[^/\s]+(/(?:clear-session-data|generate-token)\b)")
# PostgreSQL's DETAIL quotes the row a statement failed on (recipient, text, metadata) and the
# values of a violated key: keep the columns, drop the values (to the end of the paragraph, as a
# text may hold newlines and parentheses).
FAILING_ROW = re.compile(r"(Failing row contains )\((?:[^\n]|\n(?!\n))*\)")
KEY_VALUES = re.compile(r"(Key \([^)\n]*\)=)\((?:[^\n]|\n(?!\n))*?\)(?= already exists| is not)")
# Full phone numbers: "+55 21 99999-9999", "(21) 99999-9999", "5521999999999", chat ids
# "5521999999999@c.us". Ten digits or more, with at most single spaces, dots, dashes or
# parentheses between them; shorter runs (counts, HTTP codes, ports) stay readable.
PHONE = re.compile(r"(?<![\w.:/-])\+?\(?\d(?:[ .()-]{0,2}\d){9,15}(?![\d:])")


# One decimal point in a run of digits is a measurement (Celery's "succeeded in 1.883485139s"),
# not a phone number: phones written with dots group their digits in several parts.
DECIMAL = re.compile(r"\d+\.\d+")


def _mask_phone(match: re.Match[str]) -> str:
    text = match.group(0)
    if DECIMAL.fullmatch(text):
        return text
    digits = re.sub(r"\D", "", text)
    # Keep the country and area code and the last two digits: enough to tell numbers apart.
    return f"{digits[:4]}…{digits[-2:]}"


RULES: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    (FAILING_ROW, r"\1(…)"),
    (KEY_VALUES, r"\1(…)"),
    (WEBHOOK_PATH, r"\1***"),
    (SECRET_IN_PATH, r"\1***\2"),
    (BEARER, r"\1\2***"),
    (API_KEY, "lw_***"),
    (SIGNING_SECRET, "whsec_***"),
    (BCRYPT, "$2b$***"),
    (SECRET_FIELD, r"\1***"),
    (PHONE, _mask_phone),
]


def redact(text: str) -> str:
    for pattern, replacement in RULES:
        text = pattern.sub(replacement, text)
    return text


def _known_secrets() -> list[str]:
    """The configured secrets, hidden wherever they appear (long enough to be unambiguous)."""
    try:
        from django.conf import settings

        from whatsapp.conf import conf

        values = [
            conf.GATEWAY_SECRET_KEY,
            conf.ENCRYPTION_KEY,
            conf.METRICS_TOKEN,
            getattr(settings, "SECRET_KEY", ""),
        ]
    except Exception:  # settings not configured (a bare script): the patterns still apply
        return []
    return [value for value in values if isinstance(value, str) and len(value) >= 8]


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the logger's problem, not ours
            return True
        secrets = _known_secrets()
        redacted = self._clean(message, secrets)
        if redacted != message:
            record.msg, record.args = redacted, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = self._clean(record.stack_info, secrets)
        return True

    @staticmethod
    def _clean(text: str, secrets: list[str]) -> str:
        for secret in secrets:
            text = text.replace(secret, "***")
        return redact(text)
