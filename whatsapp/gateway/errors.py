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
    # Finer than `kind`, for people and metrics: refused, dns, connect_timeout, tls, read_timeout,
    # dropped, http, protocol.
    reason: str = "protocol"
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
    reason = "connect_failed"
    default_delivered = "no"
    default_permanent = False


class ConnectionRefused(Unreachable):
    """Nothing listens at the gateway's address and port (is the gateway running?)."""

    reason = "refused"


class HostNotFound(Unreachable):
    """The gateway's host name does not resolve (DNS)."""

    reason = "dns"


class ConnectTimeout(Unreachable):
    """No answer to the connection attempt (a firewall, a wrong address, a frozen host)."""

    reason = "connect_timeout"


class TlsFailure(Unreachable):
    """The TLS handshake failed (certificate, protocol): nothing was sent."""

    reason = "tls"


class Rejected(GatewayError):
    """A 4xx: the gateway refused the request before acting on it."""

    kind = REJECTED
    reason = "http"
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
    reason = "http"
    default_delivered = "unknown"
    default_permanent = False


class GatewayTimeout(GatewayError):
    """The request went out but no full answer came back (read timeout, dropped connection)."""

    kind = TIMEOUT
    reason = "dropped"
    default_delivered = "unknown"
    default_permanent = False


class ReadTimeout(GatewayTimeout):
    """The gateway took the request and did not answer in time: it may still be working on it."""

    reason = "read_timeout"


class ConnectionDropped(GatewayTimeout):
    """The connection broke after the request went out (reset, truncated answer)."""

    reason = "dropped"


class ProtocolError(GatewayError):
    """An answer that does not match the contract (not JSON, missing keys, HTML 404)."""

    kind = PROTOCOL
    default_delivered = "unknown"
    default_permanent = False
