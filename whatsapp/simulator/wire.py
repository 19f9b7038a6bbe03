"""Request and response values passed between the HTTP layer and the route handlers."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"


@dataclass
class Request:
    method: str
    path: str
    segments: list[str]
    query: dict[str, str]
    headers: Message
    body: Any
    content_type: str
    route: str = ""
    session: str = ""
    param: str = ""
    # The `session` key the server's response hook would add (§1); None = leave absent.
    session_key: str | None = None
    # The socket this request came on; the refuse control call must not cut its own answer.
    connection: Any = None
    # Multipart uploads by field: (file name, Content-Type, bytes).
    files: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)

    def json_body(self) -> dict[str, Any]:
        return self.body if isinstance(self.body, dict) else {}


@dataclass
class Response:
    status: int
    body: Any = None
    raw: bytes | None = None
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    # Close the socket without a byte of answer (drop faults, the hanging hooks of §1).
    drop: bool = False
    # Seconds to hold the request before answering or dropping.
    hold: float = 0.0
    close: bool = False
    after: Callable[[], None] | None = None


def json_response(status: int, body: Any) -> Response:
    return Response(status=status, body=body)


def express_404(method: str, path: str) -> Response:
    """What Express's finalhandler answers for an unknown route or a wrong method."""
    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>Error</title>\n</head>\n<body>\n"
        f"<pre>Cannot {html.escape(method)} {html.escape(path)}</pre>\n</body>\n</html>\n"
    )
    return Response(
        status=404,
        raw=page.encode("utf-8"),
        content_type=HTML_TYPE,
        headers={
            "Content-Security-Policy": "default-src 'none'",
            "X-Content-Type-Options": "nosniff",
        },
    )


def redirect(location: str) -> Response:
    return Response(status=303, raw=b"", content_type=HTML_TYPE, headers={"Location": location})
