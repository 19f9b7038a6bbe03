"""The one HTTP client for files at a URL an application gave (`media_url`). No Django here.

An address an application names is fetched by our worker, inside our network, so it is the
classic server-side request forgery hole. What this module allows:

* `http` and `https` only, for the first URL and for every redirect (at most 3);
* only public addresses, checked on every connection the socket actually makes (so a name that
  resolves to a public address when checked and to 127.0.0.1 when connecting is still refused),
  unless the caller allows private ones (`WHATSAPP["MEDIA_FETCH_ALLOW_PRIVATE"]`);
* no proxy and no credentials from the environment (`trust_env` off);
* a size cap enforced while streaming (the Content-Length is not trusted), a timeout per socket
  operation and a deadline for the whole transfer.

Errors are `FetchError` with a stable `code` for the caller to explain in its own words.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ReadTimeoutError

SCHEMES = ("http", "https")
MAX_REDIRECTS = 3
CHUNK = 64 * 1024
CONNECT_TIMEOUT = 10.0
USER_AGENT = "leguas-whatsapp media fetcher"


class FetchError(Exception):
    """code: scheme, address, connect, timeout, status, too_big, redirects, protocol."""

    def __init__(self, code: str, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class BlockedAddress(OSError):
    """The name resolved only to addresses this fetcher may not connect to."""


def address_allowed(address: str, allow_private: bool) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified or ip.is_multicast:
        return False
    return allow_private or ip.is_global


def _connect(conn: HTTPConnection, allow_private: bool) -> socket.socket:
    """urllib3's create_connection, but only to allowed addresses, checked as connected."""
    refused: list[str] = []
    last_error: OSError | None = None
    for family, kind, proto, _name, sockaddr in socket.getaddrinfo(
        conn._dns_host, conn.port, 0, socket.SOCK_STREAM
    ):
        if not address_allowed(str(sockaddr[0]), allow_private):
            refused.append(str(sockaddr[0]))
            continue
        sock = socket.socket(family, kind, proto)
        try:
            for option in conn.socket_options or ():
                sock.setsockopt(*option)
            timeout = conn.timeout if isinstance(conn.timeout, int | float) else CONNECT_TIMEOUT
            sock.settimeout(timeout)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            last_error = exc
    if last_error is not None:
        raise last_error
    raise BlockedAddress(f"{conn._dns_host} resolves to a private address ({', '.join(refused)})")


def _guarded(base: type[HTTPConnection], allow_private: bool) -> type[HTTPConnection]:
    class Guarded(base):  # type: ignore[misc,valid-type]
        def _new_conn(self) -> socket.socket:
            return _connect(self, allow_private)

    return Guarded


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        plain = type(
            "Pool",
            (HTTPConnectionPool,),
            {"ConnectionCls": _guarded(HTTPConnection, self.allow_private)},
        )
        tls = type(
            "TlsPool",
            (HTTPSConnectionPool,),
            {"ConnectionCls": _guarded(HTTPSConnection, self.allow_private)},
        )
        self.poolmanager.pool_classes_by_scheme = {"http": plain, "https": tls}


def check_url(url: str) -> str | None:
    """Why this URL cannot be fetched (scheme, host), or None. No network access."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return "not a URL"
    if parts.scheme.lower() not in SCHEMES:
        return "only http and https URLs can be fetched"
    if not parts.hostname:
        return "the URL has no host"
    if parts.username or parts.password:
        return "the URL must not carry a user name or password"
    return None


def guarded_session(allow_private: bool, user_agent: str = USER_AGENT) -> requests.Session:
    """A requests session that connects only to allowed addresses (checked as connected), with
    no proxies or credentials from the environment. Also used by outgoing webhooks."""
    session = requests.Session()
    session.trust_env = False  # no proxies, no .netrc: connect where the URL says, as nobody
    session.headers["User-Agent"] = user_agent
    adapter = _GuardedAdapter(allow_private)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def chain_has(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        item = stack.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, kind):
            return True
        stack.extend([item.__cause__, item.__context__, getattr(item, "reason", None), *item.args])
    return False


def _get(session: requests.Session, url: str, timeout: float) -> requests.Response:
    try:
        return session.get(
            url,
            stream=True,
            allow_redirects=False,
            timeout=(min(CONNECT_TIMEOUT, timeout), timeout),
        )
    except requests.Timeout:
        raise FetchError("timeout", "the server did not answer in time") from None
    except requests.RequestException as exc:
        if chain_has(exc, BlockedAddress):
            raise FetchError("address", "the URL points to a private or local address") from None
        raise FetchError("connect", "the server could not be reached") from None


def _open(url: str, timeout: float, allow_private: bool) -> requests.Response:
    session = guarded_session(allow_private)
    for _hop in range(MAX_REDIRECTS + 1):
        problem = check_url(url)
        if problem:
            raise FetchError("scheme", problem)
        response = _get(session, url, timeout)
        if response.is_redirect:
            location = response.headers.get("Location", "")
            response.close()
            url = urljoin(url, location)
            continue
        if response.status_code != 200:
            response.close()
            raise FetchError(
                "status",
                f"the server answered HTTP {response.status_code}",
                status=response.status_code,
            )
        return response
    raise FetchError("redirects", f"more than {MAX_REDIRECTS} redirects")


@contextmanager
def fetch(
    url: str, *, max_bytes: int, timeout: float, allow_private: bool = False
) -> Iterator[Iterator[bytes]]:
    """The body's chunks; raises FetchError before or while they are read."""
    deadline = time.monotonic() + timeout
    response = _open(url, timeout, allow_private)
    try:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise FetchError("too_big", f"the file is larger than {max_bytes} bytes")
        yield _chunks(response, max_bytes, deadline)
    finally:
        response.close()


def _chunks(response: requests.Response, max_bytes: int, deadline: float) -> Iterator[bytes]:
    size = 0
    try:
        for chunk in response.iter_content(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise FetchError("too_big", f"the file is larger than {max_bytes} bytes")
            if time.monotonic() > deadline:
                raise FetchError("timeout", "the download took too long")
            yield chunk
    except requests.RequestException as exc:
        # requests reports a read timeout while streaming as a ConnectionError.
        if isinstance(exc, requests.Timeout) or chain_has(exc, ReadTimeoutError):
            raise FetchError("timeout", "the server stopped sending in time") from None
        raise FetchError("connect", "the connection broke during the download") from None
