"""A gateway outage explained to a person: what failed, since when, what waits, what to check.

The state writer stores the reason (`Instance.gateway_error`: refused, dns, connect_timeout, tls,
read_timeout, dropped, http, protocol, secret) and when it started (`unreachable_since`); this
turns them into sentences in the reader's language, rendered per request like the operation
errors of `services/errors.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from whatsapp.models import Instance, OutboundMessage
from whatsapp.models.message import MessageStatus

# Messages that go out by themselves once the gateway answers again.
WAITING = (MessageStatus.QUEUED, MessageStatus.DISPATCHED)

UNREACHABLE = _("The gateway cannot be reached")
NOT_ANSWERING = _("The gateway does not answer")
ANSWERS_ERRORS = _("The gateway answers with errors")

CHECK_RUNNING = _(
    "Is WPPConnect Server running? With docker compose: `docker compose ps wppconnect`; in a "
    "local run, the simulator (`scripts/run.py status`)."
)
CHECK_URL = _("Does the gateway URL in the service settings point at its address and port?")
CHECK_LOGS = _("The gateway's own logs (`docker compose logs wppconnect`).")

# reason -> (title, short name of the reason, what happened, what to check)
REASONS: dict[str, tuple[Any, Any, Any, tuple[Any, ...]]] = {
    "refused": (
        UNREACHABLE,
        _("connection refused"),
        _(
            "Nothing answers at %(url)s: the connection was refused. The gateway is not running, "
            "or it listens on another port."
        ),
        (CHECK_RUNNING, CHECK_URL),
    ),
    "dns": (
        UNREACHABLE,
        _("host name not found (DNS)"),
        _("The gateway's host name %(host)s cannot be found (DNS)."),
        (
            _("Is the host name in the gateway URL spelt right?"),
            _("In docker compose, is the gateway on the same network as this app?"),
        ),
    ),
    "connect_timeout": (
        UNREACHABLE,
        _("connection timed out"),
        _("Connecting to %(url)s timed out: nothing answered at that address."),
        (
            _("Is the gateway's host up, and its address right?"),
            _("Does a firewall drop the connections to its port?"),
        ),
    ),
    "tls": (
        UNREACHABLE,
        _("secure connection (TLS) failed"),
        _("The secure connection (TLS) to %(url)s failed: its certificate or protocol."),
        (
            _("Is the gateway's certificate valid and trusted by this server?"),
            _("Does the URL say https:// for a gateway that only speaks http://?"),
        ),
    ),
    "read_timeout": (
        NOT_ANSWERING,
        _("no answer in time"),
        _("The gateway at %(url)s accepted the connection but did not answer in time."),
        (_("Is the gateway overloaded or stuck? Restart its container."), CHECK_LOGS),
    ),
    "dropped": (
        NOT_ANSWERING,
        _("connection dropped"),
        _("The gateway at %(url)s dropped the connection before answering."),
        (_("Is the gateway restarting or crashing?"), CHECK_LOGS),
    ),
    "http": (
        ANSWERS_ERRORS,
        _("HTTP error"),
        _("The gateway at %(url)s answers, but with errors."),
        (_("Are the secret key and the session name right?"), CHECK_LOGS),
    ),
    "protocol": (
        ANSWERS_ERRORS,
        _("unexpected answer"),
        _("Something answers at %(url)s, but not as WPPConnect Server does."),
        (CHECK_URL,),
    ),
    "secret": (
        ANSWERS_ERRORS,
        _("secret key unreadable"),
        _(
            "The stored gateway secret key cannot be decrypted: WHATSAPP_ENCRYPTION_KEY changed "
            "since it was saved."
        ),
        (
            _("Enter the secret key again in the service settings."),
            _("Or restore the previous WHATSAPP_ENCRYPTION_KEY (see docs/operations.md)."),
        ),
    ),
}
# Reasons for which the gateway did answer, so its own message is worth showing.
ANSWERED = ("http", "protocol")

OTHER = (
    ANSWERS_ERRORS,
    _("gateway error"),
    _("The gateway at %(url)s cannot be used."),
    (CHECK_URL, CHECK_LOGS),
)


@dataclass(frozen=True)
class Outage:
    reason: str
    title: str
    reason_label: str
    detail: str
    since: datetime | None
    waiting: int
    waiting_text: str
    checks: list[str]
    # The gateway's own words, when it answered at all (an HTTP or protocol error): in its
    # language, so only shown there; for a connection that failed the detail above says it all.
    gateway_said: str

    def as_json(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "title": self.title,
            "reason_label": self.reason_label,
            "detail": self.detail,
            "since": self.since.isoformat() if self.since else None,
            "waiting": self.waiting,
            "waiting_text": self.waiting_text,
            "checks": self.checks,
            "gateway_said": self.gateway_said or None,
        }


def safe_url(url: str) -> str:
    """The gateway URL without any user:password part."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


def waiting_text(count: int) -> str:
    if count == 0:
        return str(_("No message is waiting. New ones are queued and sent once it is back."))
    return ngettext(
        "%(count)s queued message waits and will be sent once the gateway is back.",
        "%(count)s queued messages wait and will be sent once the gateway is back.",
        count,
    ) % {"count": count}


def describe(instance: Instance) -> Outage | None:
    """The outage of this instance's gateway, or None when its last call was answered."""
    if not instance.gateway_error:
        return None
    title, label, detail, checks = REASONS.get(instance.gateway_error, OTHER)
    url = safe_url(instance.gateway_url)
    values = {"url": url, "host": urlsplit(url).hostname or url}
    waiting = OutboundMessage.objects.filter(instance=instance, status__in=WAITING).count()
    return Outage(
        reason=instance.gateway_error,
        title=str(title),
        reason_label=str(label),
        detail=str(detail) % values,
        since=instance.unreachable_since,
        waiting=waiting,
        waiting_text=waiting_text(waiting),
        checks=[str(check) for check in checks],
        gateway_said=instance.last_error if instance.gateway_error in ANSWERED else "",
    )


def reason_label(reason: str) -> str:
    """The short name of a stored reason (for the health page's samples)."""
    return str(REASONS.get(reason, OTHER)[1])
