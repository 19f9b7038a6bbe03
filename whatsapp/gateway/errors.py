"""One error family for every gateway failure, saying what the caller may do next.

``delivered`` answers "could the gateway have acted on this request?":
``"no"`` (nothing reached it or it refused before acting: safe to retry) or
``"unknown"`` (it may have acted: reconcile before sending again, design principle 4).
``permanent`` says whether retrying the very same request can ever help.
"""

from __future__ import annotations

UNREACHABLE = "unreachable"
REJECTED = "rejected"
SERVER_ERROR = "server_error"
TIMEOUT = "timeout"
PROTOCOL = "protocol"


class GatewayError(Exception):
    kind: str = PROTOCOL
    default_delivered: str = "unknown"
    default_permanent: bool = False

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        delivered: str | None = None,
        permanent: bool | None = None,
        route: str | None = None,
        server_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.delivered = delivered if delivered is not None else self.default_delivered
        self.permanent = permanent if permanent is not None else self.default_permanent
        self.route = route
        # Already redacted by the client: the server's own words, for the operator.
        self.server_message = server_message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, kind={self.kind!r}, "
            f"http_status={self.http_status!r}, delivered={self.delivered!r}, "
            f"permanent={self.permanent!r})"
        )


class Unreachable(GatewayError):
    """Connection refused, DNS failure, connect timeout: the request never left."""

    kind = UNREACHABLE
    default_delivered = "no"
    default_permanent = False


class Rejected(GatewayError):
    """A 4xx: the gateway refused the request before acting on it."""

    kind = REJECTED
    default_delivered = "no"
    default_permanent = True


class ConfigurationError(Rejected):
    """Wrong secret key, wrong session name, bad URL: fix the settings, then retry."""


class NotConnected(Rejected):
    """404 ``{"status":"Disconnected"}`` (§5.8 gate): start or reconnect the session first."""

    default_permanent = False


class UnknownNumber(Rejected):
    """400 on send-message: the recipient is not on WhatsApp (§5.8)."""


class ServerError(GatewayError):
    """A 5xx: the request reached the gateway, which failed while handling it."""

    kind = SERVER_ERROR
    default_delivered = "unknown"
    default_permanent = False


class GatewayTimeout(GatewayError):
    """The request went out but no full answer came back (read timeout, dropped connection)."""

    kind = TIMEOUT
    default_delivered = "unknown"
    default_permanent = False


class ProtocolError(GatewayError):
    """An answer that does not match the contract (not JSON, missing keys, HTML 404)."""

    kind = PROTOCOL
    default_delivered = "unknown"
    default_permanent = False
