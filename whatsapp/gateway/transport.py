"""Map what went wrong on the wire to the error family (design principle 4).

Messages built here never quote the exception text or the URL: both can carry a phone
number (check-number-status/{phone}) and the caller shows ``message`` to users.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator
from typing import Any

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from .errors import (
    ConfigurationError,
    ConnectionDropped,
    ConnectionRefused,
    ConnectTimeout,
    GatewayError,
    HostNotFound,
    NotConnected,
    ProtocolError,
    ReadTimeout,
    Rejected,
    ServerError,
    TlsFailure,
    UnknownNumber,
    Unreachable,
)
from .redact import mask_phone

_UNKNOWN_NUMBER = re.compile(r"n[úu]mero\s+(\S+)\s+n[ãa]o existe", re.IGNORECASE)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps (requests -> urllib3 -> socket)."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        # Not __context__: a request made inside the caller's ``except Unreachable:`` block
        # would inherit that earlier refusal and be misread as never sent.
        wrapped: list[Any] = [getattr(current, "reason", None), current.__cause__, *current.args]
        stack.extend(
            item
            for item in wrapped
            if isinstance(item, BaseException) and not isinstance(item, GatewayError)
        )


def _never_connected(exc: BaseException) -> tuple[type[Unreachable], str] | None:
    """Why no byte of the request reached the gateway, or None if some may have.

    The most precise cause anywhere in the chain wins: urllib3's NewConnectionError (which wraps
    a refusal) is a subclass of its ConnectTimeoutError, so looking at the outer errors first
    would call every refused connection a timeout.
    """
    chain = list(_chain(exc))
    for item in chain:
        if isinstance(item, socket.gaierror) or type(item).__name__ == "NameResolutionError":
            return HostNotFound, "the gateway host name could not be resolved"
    for item in chain:
        if isinstance(item, ConnectionRefusedError):
            return ConnectionRefused, "the gateway refused the connection"
    for item in chain:
        timeout = isinstance(item, ConnectTimeoutError | requests.ConnectTimeout)
        if timeout and not isinstance(item, NewConnectionError):
            return ConnectTimeout, "timed out connecting to the gateway"
    if any(isinstance(item, NewConnectionError) for item in chain):
        return Unreachable, "could not connect to the gateway"
    return None


def from_exception(exc: requests.RequestException, route: str, where: str) -> GatewayError:
    if isinstance(exc, requests.ConnectTimeout):
        return ConnectTimeout(f"timed out connecting to the gateway at {where}", route=route)
    if isinstance(exc, requests.ReadTimeout):
        return ReadTimeout(
            f"the gateway did not answer {route} in time; the request may have been acted on",
            route=route,
        )
    if isinstance(
        exc,
        requests.exceptions.InvalidURL
        | requests.exceptions.MissingSchema
        | requests.exceptions.InvalidSchema,
    ):
        return ConfigurationError(
            "the gateway URL is not valid; check the gateway URL", route=route
        )
    if isinstance(exc, requests.exceptions.SSLError):
        return TlsFailure(f"the TLS handshake with the gateway failed ({where})", route=route)
    if isinstance(exc, requests.ConnectionError):
        never = _never_connected(exc)
        if never:
            error_type, reason = never
            return error_type(f"{reason} ({where})", route=route)
    # Anything else happened after connecting: RemoteDisconnected, a reset, a truncated
    # chunked body. The gateway may have acted, so the outcome is unknown.
    return ConnectionDropped(
        f"the connection to the gateway dropped during {route}; the request may have been acted on",
        route=route,
    )


def _body(response: requests.Response) -> Any:
    if "json" not in response.headers.get("Content-Type", ""):
        return None
    try:
        return response.json()
    except ValueError:
        return None


# Thrown by the library before anything goes to WhatsApp (companion §1.7, §2.1, §2.4): a data URL
# it cannot read, an empty file, an image it cannot convert. Sending them again cannot help.
_FILE_REFUSALS = {"invalid_data_url", "empty_file", "invalid_image"}


def _refused_before_sending(error: Any) -> bool:
    code = error.get("code") if isinstance(error, dict) else error
    return isinstance(code, str) and code in _FILE_REFUSALS


def from_response(
    response: requests.Response, route: str, scrub: Callable[[str], str]
) -> GatewayError:
    """The error for a non-2xx answer. ``scrub`` masks secrets and phones in server text."""
    code = response.status_code
    body = _body(response)
    data = body if isinstance(body, dict) else {}
    raw_message = data.get("message") if isinstance(data.get("message"), str) else None
    server_message = scrub(raw_message)[:200] if raw_message else None
    common: dict[str, Any] = {"http_status": code, "route": route, "server_message": server_message}

    if code == 401 and raw_message == "Sending the file is mandatory":
        # The file routes say "no file" with 401, like an auth failure (companion §2.1).
        return Rejected(f"the gateway received no file on {route}", **common)
    if code == 500 and _refused_before_sending(data.get("error")):
        return Rejected(f"the gateway could not read the file sent to {route}", **common)
    if body is None and code == 404:
        # Express answers unknown routes and wrong methods with an HTML page (§1).
        return ProtocolError(
            f"the gateway has no route {route} (HTTP 404 page); is the URL a WPPConnect server?",
            **common,
        )
    if code == 401:
        if "message" in data and "error" not in data and "status" not in data:
            return ConfigurationError(
                "the gateway received no token; check the secret key and the session name",
                **common,
            )
        if "error" in data and "status" not in data:
            return ConfigurationError(
                "the gateway rejected the token; check the secret key and the session name",
                **common,
            )
    if code == 400 and raw_message and "incorrect" in raw_message.lower():
        # Secret-in-path routes answer a wrong secret with 400, not 401 (§2.4, §5.1).
        return ConfigurationError(
            "the gateway rejected the secret key; check the secret key", **common
        )
    if code == 404 and data.get("status") == "Disconnected":
        return NotConnected("the WhatsApp session is not connected", **common)
    if code == 400 and raw_message:
        match = _UNKNOWN_NUMBER.search(raw_message)
        if match:
            # The server's text quotes the full number (§5.8): say it again, masked.
            return UnknownNumber(
                f"number {mask_phone(match.group(1))} is not on WhatsApp", **common
            )
    if 300 <= code < 400:
        return ProtocolError(
            f"the gateway answered {route} with a redirect (HTTP {code})", **common
        )
    if 400 <= code < 500:
        detail = f": {server_message}" if server_message else ""
        return Rejected(f"the gateway refused {route} (HTTP {code}){detail}", **common)
    if code >= 500:
        detail = f": {server_message}" if server_message else ""
        return ServerError(f"the gateway failed on {route} (HTTP {code}){detail}", **common)
    return ProtocolError(f"unexpected HTTP {code} from the gateway on {route}", **common)
