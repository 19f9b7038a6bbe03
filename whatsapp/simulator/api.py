"""The WPPConnect REST routes (contract §5), one function per route."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from . import chat, rich
from .chat import DISCONNECTED
from .messages import user_part
from .state import Simulator
from .wire import Request, Response, json_response

Handler = Callable[[Simulator, Request], Response]

# No QR ever comes when the stored login is valid or the browser is stuck; the real server
# then never answers. Give up after this long so a vanished client does not pin a thread.
WAIT_QR_CAP_SECONDS = 90.0


def _gate(sim: Simulator, req: Request) -> Response | None:
    """statusConnection middleware: every chat/device route needs a live client."""
    if not sim.is_connected(req.session):
        return json_response(404, dict(DISCONNECTED))
    return None


# -- secret-in-path routes -----------------------------------------------------------------


def generate_token(sim: Simulator, req: Request) -> Response:
    session, secret = req.segments[1], req.segments[2]
    if secret != sim.secret_key:
        return json_response(400, {"response": False, "message": "The SECRET_KEY is incorrect"})
    token = sim.tokens.mint(session)
    return json_response(
        201,
        {"status": "success", "session": session, "token": token, "full": f"{session}:{token}"},
    )


def clear_session_data(sim: Simulator, req: Request) -> Response:
    # The profile folder goes even with a wrong secret; the token file never goes (§5.13).
    session, secret = req.segments[1], req.segments[2]
    with sim.lock:
        sim.logins.pop(session, None)
        sim.cleared.add(session)
    if secret != sim.secret_key:
        return json_response(400, {"response": "error", "message": "The token is incorrect"})
    return json_response(200, {"success": True})


def show_all_sessions(sim: Simulator, req: Request) -> Response:
    if req.segments[1] != sim.secret_key:
        return json_response(400, {"response": False, "message": "The token is incorrect"})
    with sim.lock:
        return json_response(200, {"response": list(sim.known)})


def start_all(sim: Simulator, req: Request) -> Response:
    # A wrong secret answers 400 but the server goes on and starts everything anyway (§5.12).
    with sim.lock:
        stored = dict(sim.known)
    for name, body in stored.items():
        sim.start(name, body)
    if req.segments[1] != sim.secret_key:
        return json_response(400, {"response": "error", "message": "The token is incorrect"})
    return json_response(201, {"status": "success", "message": "Starting all sessions"})


# -- session routes ------------------------------------------------------------------------


def start_session(sim: Simulator, req: Request) -> Response:
    body = req.json_body()
    wait = bool(body.get("waitQrCode"))
    with sim.lock:
        obj = sim.sessions.get(req.session)
        had_object = obj is not None
        placeholder = obj is not None and obj.status is None
    before, _ = sim.start(req.session, body)
    if wait and not had_object:
        answer = sim.wait_for_code(req.session, WAIT_QR_CAP_SECONDS)
        if answer is None:
            return Response(status=200, drop=True)
        return json_response(200, answer)
    if wait and placeholder:
        # getSessionState skips its CLOSED shortcut when waitQrCode is set.
        return json_response(200, {"status": None, "qrcode": None, "version": "2.10.4"})
    return json_response(200, before)


def status_session(sim: Simulator, req: Request) -> Response:
    return json_response(200, sim.status_view(req.session))


def qrcode_session(sim: Simulator, req: Request) -> Response:
    with sim.lock:
        obj = sim.sessions.get(req.session)
        # The server renders whenever a urlcode is stored, and it is never cleared (§4.1),
        # so a CONNECTED or auto-closed session still returns its stale QR here.
        png = obj.qr_png if obj is not None else None
        status = obj.status if obj is not None else None
    if png:
        return Response(status=200, raw=png, content_type="image/png")
    if obj is None:
        return json_response(
            200,
            {
                "status": None,
                "message": "Session not started. Please, use the /start-session route, "
                "for initialization your session",
            },
        )
    return json_response(200, {"status": status, "message": "QRCode is not available..."})


def check_connection_session(sim: Simulator, req: Request) -> Response:
    if sim.is_connected(req.session):
        return json_response(200, {"status": True, "message": "Connected"})
    return json_response(200, {"status": False, "message": "Disconnected"})


def close_session(sim: Simulator, req: Request) -> Response:
    status, body = sim.close(req.session)
    return json_response(status, body)


def logout_session(sim: Simulator, req: Request) -> Response:
    denied = _gate(sim, req)
    if denied:
        return denied
    status, body = sim.logout(req.session)
    return json_response(status, body)


# -- device and chat routes ----------------------------------------------------------------


def send_message(sim: Simulator, req: Request) -> Response:
    denied = _gate(sim, req)
    if denied:
        return denied
    status, body = chat.send_text(sim, req.session, req.json_body())
    return json_response(status, body)


def _rich(handler: Callable[..., tuple[int, Any]], files: bool = False) -> Handler:
    """A rich route behind the connected gate (companion contract §2, §3.2)."""

    def route(sim: Simulator, req: Request) -> Response:
        denied = _gate(sim, req)
        if denied:
            return denied
        if files:
            status, body = handler(sim, req.session, req.json_body(), req.files)
        else:
            status, body = handler(sim, req.session, req.json_body())
        return json_response(status, body)

    return route


def _wid(digits: str) -> dict[str, Any]:
    return {"server": "c.us", "user": digits, "_serialized": f"{digits}@c.us"}


def host_device(sim: Simulator, req: Request) -> Response:
    denied = _gate(sim, req)
    if denied:
        return denied
    own = sim.own_of(req.session)
    device = {
        "id": "me",
        "pushname": "Simulator",
        "platform": "android",
        "connected": True,
        "isResponse": True,
        "battery": 100,
        "plugged": True,
        "wid": _wid(own),
        "me": _wid(own),
        "phoneNumber": f"{own}@c.us",
    }
    return json_response(200, {"status": "success", "response": device, "mapper": "device"})


def get_phone_number(sim: Simulator, req: Request) -> Response:
    denied = _gate(sim, req)
    if denied:
        return denied
    own = sim.own_of(req.session)
    return json_response(200, {"status": "success", "response": f"{own}@c.us", "mapper": "device"})


def check_number_status(sim: Simulator, req: Request) -> Response:
    denied = _gate(sim, req)
    if denied:
        return denied
    result = chat.check_number(sim, req.param)
    if result is None:
        # contactToArray gave nothing: the loop never runs and `response` stays undefined.
        return json_response(200, {"status": "success"})
    return json_response(200, {"status": "success", "response": result})


def message_by_id(sim: Simulator, req: Request) -> Response:
    """deviceController.getMessageById: 201 via returnSucess, 400 via returnError."""
    denied = _gate(sim, req)
    if denied:
        return denied
    msg = sim.messages.get(req.session, req.param)
    if msg is None:
        return json_response(400, message_by_id_error(req.session))
    return json_response(
        201,
        {
            "status": "Success",
            "response": {
                "message": "Information retrieved successfully.",
                "contact": user_part(msg["chatId"]),
                "session": req.session,
                "data": msg,
            },
        },
    )


def message_by_id_error(session: str) -> dict[str, Any]:
    return {
        "status": "Error",
        "response": {
            "message": "Error retrieving information",
            "session": session,
            "log": {"message": "Message not found"},
        },
    }


def get_messages(sim: Simulator, req: Request) -> Response:
    """deviceController.getMessages: the newest `count` (default 20) messages of one chat."""
    denied = _gate(sim, req)
    if denied:
        return denied
    try:
        count = int(req.query.get("count", "20"))
    except ValueError:
        count = 20
    history = sim.messages.chat(req.session, chat.chat_id_of(req.param))
    before_id = req.query.get("id")
    if before_id and req.query.get("direction", "before") == "before":
        ids = [m["id"] for m in history]
        if before_id in ids:
            history = history[: ids.index(before_id)]
    elif before_id:
        ids = [m["id"] for m in history]
        if before_id in ids:
            history = history[ids.index(before_id) + 1 :]
            return json_response(200, {"status": "success", "response": history[:count]})
    window = history[-count:] if count > 0 else history
    return json_response(200, {"status": "success", "response": window})


def all_messages_in_chat(sim: Simulator, req: Request) -> Response:
    denied = _gate(sim, req)
    if denied:
        return denied
    include_me = req.query.get("includeMe", "true") != "false"
    response: list[dict[str, Any]] | None = None
    for chat_id in chat.contact_to_array(req.param, is_group=req.query.get("isGroup") == "true"):
        history = sim.messages.chat(req.session, chat_id)
        response = [m for m in history if include_me or not m["fromMe"]]
    body: dict[str, Any] = {"status": "success"}
    if response is not None:
        body["response"] = response
    return json_response(200, body)


# -- no auth -------------------------------------------------------------------------------


def healthz(sim: Simulator, req: Request) -> Response:
    if req.content_type == "application/json":
        # The response hook chokes on res.send(object) and never answers (§1, §8.9).
        return Response(status=200, drop=True, hold=30.0)
    uptime = round(time.monotonic() - sim.started_at, 3)
    return json_response(
        200, {"uptime": uptime, "message": "OK", "timestamp": int(time.time() * 1000)}
    )


def metrics(sim: Simulator, req: Request) -> Response:
    if req.content_type == "application/json":
        return Response(status=200, drop=True, hold=30.0)
    lines = [
        "# HELP wppsim_uptime_seconds Seconds since the simulator started.",
        "# TYPE wppsim_uptime_seconds gauge",
        f"wppsim_uptime_seconds {time.monotonic() - sim.started_at:.3f}",
        "# HELP wppsim_sessions Sessions by reported status.",
        "# TYPE wppsim_sessions gauge",
    ]
    counts: dict[str, int] = {}
    for entry in sim.session_list():
        counts[entry["status"]] = counts.get(entry["status"], 0) + 1
    lines += [f'wppsim_sessions{{status="{s}"}} {n}' for s, n in sorted(counts.items())]
    lines += [
        "# HELP wppsim_requests_total Requests by route.",
        "# TYPE wppsim_requests_total counter",
    ]
    with sim.lock:
        routes = sorted(sim.request_counts.items())
    lines += [f'wppsim_requests_total{{route="{r}"}} {n}' for r, n in routes]
    lines.append(f"wppsim_sent_messages_total {len(sim.messages.ledger())}")
    text = "\n".join(lines) + "\n"
    return Response(status=200, raw=text.encode("utf-8"), content_type="text/plain; version=0.0.4")


# (method, action) -> handler, for /api/{session}/{action}
SESSION_ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", "start-session"): start_session,
    ("GET", "status-session"): status_session,
    ("GET", "qrcode-session"): qrcode_session,
    ("GET", "check-connection-session"): check_connection_session,
    ("POST", "close-session"): close_session,
    ("POST", "logout-session"): logout_session,
    ("POST", "send-message"): send_message,
    ("GET", "host-device"): host_device,
    ("GET", "get-phone-number"): get_phone_number,
    ("POST", "send-file-base64"): _rich(rich.send_file, files=True),
    ("POST", "send-file"): _rich(rich.send_file, files=True),
    ("POST", "send-image"): _rich(rich.send_file, files=True),
    ("POST", "send-voice-base64"): _rich(rich.send_voice_base64),
    ("POST", "send-location"): _rich(rich.send_location),
    ("POST", "contact-vcard"): _rich(rich.contact_vcard),
    ("POST", "send-reply"): _rich(rich.send_reply),
    ("POST", "download-media"): _rich(rich.download_media),
}
# (method, action) -> handler, for /api/{session}/{action}/{param}
PARAM_ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "check-number-status"): check_number_status,
    ("GET", "message-by-id"): message_by_id,
    ("GET", "get-messages"): get_messages,
    ("GET", "all-messages-in-chat"): all_messages_in_chat,
}
