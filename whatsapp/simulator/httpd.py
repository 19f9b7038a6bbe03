"""The HTTP layer: Express-like framing, routing, auth, faults and the response-hook quirks."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable
from email.message import Message
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from . import api, control
from .auth import split_session_segment, token_from_header
from .faults import error_body, error_status
from .state import Simulator
from .wire import HTML_TYPE, Request, Response, express_404, json_response

if TYPE_CHECKING:
    from .server import SimulatorServer

logger = logging.getLogger(__name__)

OPEN, SECRET, TOKEN = "open", "secret", "token"
# Routes with multer in front (§1.1); a form sent elsewhere is not parsed at all.
UPLOAD_ROUTES = ("send-file", "send-image", "send-sticker")
Route = tuple[str, Callable[[Simulator, Request], Response], str]


def match_route(method: str, segs: list[str]) -> Route | None:
    """Express's route table for the routes the simulator speaks; None means 404."""
    if segs == ["healthz"] and method == "GET":
        return "healthz", api.healthz, OPEN
    if segs == ["metrics"] and method == "GET":
        return "metrics", api.metrics, OPEN
    if len(segs) < 3 or segs[0] != "api":
        return None
    if len(segs) == 4 and segs[3] == "generate-token" and method == "POST":
        return "generate-token", api.generate_token, SECRET
    if len(segs) == 4 and segs[3] == "clear-session-data" and method == "POST":
        return "clear-session-data", api.clear_session_data, SECRET
    if len(segs) == 3:
        if segs[2] == "show-all-sessions" and method == "GET":
            return "show-all-sessions", api.show_all_sessions, SECRET
        if segs[2] == "start-all" and method == "POST":
            return "start-all", api.start_all, SECRET
        handler = api.SESSION_ROUTES.get((method, segs[2]))
        if handler:
            return segs[2], handler, TOKEN
    if len(segs) == 4:
        handler = api.PARAM_ROUTES.get((method, segs[2]))
        if handler:
            return segs[2], handler, TOKEN
    return None


def _authenticate(sim: Simulator, req: Request) -> Response | None:
    session, path_token = split_session_segment(req.segments[1])
    req.session = session
    token = path_token or token_from_header(req.headers.get("Authorization"))
    if not token:
        return json_response(
            401, {"message": "Token is not present. Check your header and try again"}
        )
    if not sim.tokens.verify(session, token):
        return json_response(401, {"error": "Check that the Session and Token are correct"})
    req.session_key = sim.session_key(session)
    return None


def handle_api(sim: Simulator, req: Request) -> Response:
    matched = match_route(req.method, req.segments)
    if matched is None:
        return express_404(req.method, req.path)
    route, handler, kind = matched
    req.route = route
    if len(req.segments) == 4 and kind == TOKEN:
        req.param = req.segments[3]
    with sim.lock:
        sim.request_counts[route] = sim.request_counts.get(route, 0) + 1
        # Per session too, so a test can count the gateway calls one instance caused.
        if kind == TOKEN and len(req.segments) >= 2:
            key = f"{req.segments[1].split(':')[0]}/{route}"
            sim.session_request_counts[key] = sim.session_request_counts.get(key, 0) + 1
    faults = sim.faults.for_route(route)
    delay = sum(f.latency + f.hang for f in faults)
    if delay > 0:
        # Before anything else: a hung start-session has not started anything yet.
        sim.stopping.wait(delay)
    if kind == TOKEN:
        denied = _authenticate(sim, req)
        if denied:
            return denied
    elif kind == SECRET:
        req.session_key = ""
    for fault in faults:
        if sim.faults.roll(fault.error_rate):
            body = (
                api.message_by_id_error(req.session)
                if route == "message-by-id"
                else error_body(route)
            )
            return json_response(error_status(route, fault), body)
    response = handler(sim, req)
    if any(sim.faults.roll(fault.null_rate) for fault in faults):
        body = response.body
        if isinstance(body, dict) and isinstance(body.get("response"), list):
            response.body = {**body, "response": [None] * len(body["response"])}
    if any(sim.faults.roll(fault.drop_rate) for fault in faults):
        response.drop = True
    return response


def _parse_form(raw: bytes, content_type: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """multer on the upload routes: text fields as strings, files by field name."""
    message = BytesParser().parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + raw
    )
    fields: dict[str, Any] = {}
    files: dict[str, Any] = {}
    parts = message.get_payload() if message.is_multipart() else []
    for part in parts if isinstance(parts, list) else []:
        if not isinstance(part, Message):
            continue
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            continue
        if part.get_filename() is not None:
            files[name] = (part.get_filename(), part.get_content_type(), payload)
        else:
            fields[name] = payload.decode("utf-8", "replace")
    return fields, files


def _parse_body(raw: bytes, content_type: str) -> tuple[Any, bool]:
    """Returns (body, ok). Like Express: JSON and urlencoded parsed, anything else ignored."""
    if not raw:
        return {}, True
    mime = content_type.split(";")[0].strip().lower()
    if mime == "application/json":
        try:
            return json.loads(raw.decode("utf-8")), True
        except (UnicodeDecodeError, ValueError):
            return None, False
    if mime == "application/x-www-form-urlencoded":
        return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)), True
    return {}, True


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, keep-alive clients wait ~40 ms
    # for a delayed ACK on every request, which would make benchmarks measure the kernel.
    disable_nagle_algorithm = True

    @property
    def owner(self) -> SimulatorServer:
        return self.server.owner  # type: ignore[attr-defined]

    def setup(self) -> None:
        super().setup()
        self.owner.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.owner.untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def send_response(self, code: int, message: str | None = None) -> None:
        # Express sends no Server header.
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_OPTIONS(self) -> None:
        # The cors() middleware answers every preflight itself.
        self.send_response(204)
        self.send_header("X-Powered-By", "Express")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE")
        self.send_header("Vary", "Access-Control-Request-Headers")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _handle(self) -> None:
        sim = self.owner.sim
        parsed = urlsplit(self.path)
        trimmed = parsed.path.strip("/")
        segments = [unquote(s) for s in trimmed.split("/")] if trimmed else []
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        content_type = self.headers.get("Content-Type", "")
        body, ok = _parse_body(raw, content_type)
        files: dict[str, Any] = {}
        multipart = content_type.split(";")[0].strip().lower() == "multipart/form-data"
        if multipart and segments[2:3] and segments[2] in UPLOAD_ROUTES:
            body, files = _parse_form(raw, content_type)
        req = Request(
            method=self.command,
            path=parsed.path,
            segments=segments,
            query=dict(parse_qsl(parsed.query, keep_blank_values=True)),
            headers=self.headers,
            body=body,
            content_type=content_type,
            connection=self.connection,
            files=files,
        )
        if not ok:
            response = Response(status=400, raw=b"Bad Request", content_type=HTML_TYPE)
        elif segments[:1] == ["_sim"]:
            response = control.dispatch(sim, req, self.owner.refuse) or express_404(
                req.method, req.path
            )
        else:
            response = handle_api(sim, req)
        self._write(req, response)

    def _write(self, req: Request, resp: Response) -> None:
        sim = self.owner.sim
        if resp.hold > 0:
            sim.stopping.wait(resp.hold)
        if resp.drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if resp.raw is not None:
            payload = resp.raw
        else:
            body = resp.body
            if (
                req.content_type == "application/json"
                and isinstance(body, dict)
                and "session" not in body
                and req.session_key is not None
            ):
                body = {**body, "session": req.session_key}
            payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self.send_response(resp.status)
        self.send_header("X-Powered-By", "Express")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in resp.headers.items():
            self.send_header(name, value)
        if resp.close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        if resp.after:
            resp.after()
