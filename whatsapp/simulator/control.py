"""The control API under /_sim/: what a test (or a person) does to the simulated phone and network.

The real server has none of these paths. No auth: the simulator is for loopback use.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from . import chat, page
from .faults import ANY_ROUTE, Fault
from .state import Simulator
from .wire import HTML_TYPE, Request, Response, json_response, redirect

# Set by the server: closes the listener for N seconds; takes the caller's own socket.
RefuseFn = Callable[[float, Any], None]


def _error(status: int, message: str) -> Response:
    return json_response(status, {"error": message})


def _is_form(req: Request) -> bool:
    accept = req.headers.get("Accept", "")
    return req.content_type.startswith("application/x-www-form-urlencoded") or (
        "text/html" in accept
    )


def _optional_seconds(value: Any) -> float | None:
    return None if value is None else float(value)


def dispatch(sim: Simulator, req: Request, refuse: RefuseFn) -> Response | None:
    """Returns None for an unknown control path (the caller answers the Express 404)."""
    segs = req.segments[1:]
    method = req.method
    body = req.json_body()
    try:
        if not segs and method == "GET":
            html = page.render(sim)
            return Response(status=200, raw=html.encode("utf-8"), content_type=HTML_TYPE)
        if segs == ["sessions"] and method == "GET":
            return json_response(200, {"sessions": sim.session_list()})
        if len(segs) == 3 and segs[0] == "sessions" and method == "POST":
            return _session_action(sim, req, segs[1], segs[2], body)
        if segs == ["acks"] and method == "POST":
            with sim.lock:
                sim.settings.delivered_after = _optional_seconds(body.get("delivered_after"))
                sim.settings.read_after = _optional_seconds(body.get("read_after"))
            return json_response(
                200,
                {
                    "delivered_after": sim.settings.delivered_after,
                    "read_after": sim.settings.read_after,
                },
            )
        if len(segs) == 3 and segs[0] == "messages" and segs[2] == "ack" and method == "POST":
            return _manual_ack(sim, segs[1], body)
        if segs == ["faults"]:
            return _faults(sim, method, body)
        if segs == ["refuse"] and method == "POST":
            seconds = float(body.get("seconds", 0))
            if seconds <= 0:
                return _error(400, "seconds must be positive")
            refuse(seconds, req.connection)
            return Response(status=200, body={"refused_for": seconds}, close=True)
        if segs == ["webhooks"] and method == "POST":
            sim.webhooks.enabled = bool(body.get("enabled", True))
            return json_response(200, {"enabled": sim.webhooks.enabled})
        if segs == ["webhooks"] and method == "GET":
            deliveries = sim.webhooks.deliveries()
            return json_response(
                200,
                {
                    "enabled": sim.webhooks.enabled,
                    "pending": sim.webhooks.pending(req.query.get("session")),
                    "deliveries": deliveries,
                },
            )
        if segs == ["numbers", "unknown"] and method == "POST":
            phones = body.get("phones") or []
            with sim.lock:
                sim.settings.unknown_numbers = {
                    "".join(c for c in str(p) if c.isdigit()) for p in phones
                }
                current = sorted(sim.settings.unknown_numbers)
            return json_response(200, {"phones": current})
        if segs == ["ledger"] and method == "GET":
            sends = sim.messages.ledger(req.query.get("phone"), req.query.get("message"))
            return json_response(200, {"sends": sends, "count": len(sends)})
        if segs == ["calls"] and method == "GET":
            with sim.lock:
                calls = dict(sim.session_request_counts)
            session = req.query.get("session")
            if session:
                prefix = f"{session}/"
                calls = {k[len(prefix) :]: v for k, v in calls.items() if k.startswith(prefix)}
            return json_response(200, {"calls": calls})
        if segs == ["settings"] and method == "POST":
            return _settings(sim, body)
        if segs == ["reset"] and method == "POST":
            seed = body.get("seed")
            sim.reset(None if seed is None else int(seed))
            return json_response(200, {"reset": True, "seed": seed})
    except (TypeError, ValueError, binascii.Error) as exc:
        return _error(400, str(exc))
    return None


def _session_action(
    sim: Simulator, req: Request, name: str, action: str, body: dict[str, Any]
) -> Response | None:
    if action == "scan":
        phone = body.get("phone")
        digits = "".join(c for c in str(phone) if c.isdigit()) if phone else None
        problem = sim.scan(name, digits or None)
    elif action == "unlink":
        problem = sim.unlink(name)
    elif action == "incoming":
        msg = chat.receive(
            sim,
            name,
            str(body.get("phone", "")),
            str(body.get("body", "")),
            _inbound_file(body),
            **_origin(body),
        )
        if msg is None:
            return _error(409, f"session {name!r} is not connected or phone is empty")
        return json_response(200, {"message": msg})
    else:
        return None
    if _is_form(req):
        # The control page posts plain forms and wants to land back on itself.
        return redirect("/_sim/")
    if problem:
        return _error(409, problem)
    return json_response(
        200, {"session": next((s for s in sim.session_list() if s["name"] == name), None)}
    )


def _inbound_file(body: dict[str, Any]) -> chat.InboundFile | None:
    """`media_base64` (+ `mimetype`, `type`, `filename`, `caption`): an inbound file."""
    raw = body.get("media_base64")
    if not raw:
        return None
    return chat.InboundFile(
        data=base64.b64decode(str(raw), validate=True),
        mimetype=str(body.get("mimetype") or "application/octet-stream"),
        kind=str(body.get("type") or "image"),
        filename=str(body.get("filename") or ""),
        caption=str(body.get("caption") or ""),
    )


def _origin(body: dict[str, Any]) -> dict[str, Any]:
    """`lid` (the phone is a LID), `group` (a group id), `quoted`, `push_name`."""
    group = str(body.get("group") or "")
    if group and not group.endswith("@g.us"):
        group += "@g.us"
    return {
        "lid": body.get("lid") is True,
        "group": group,
        "quoted": str(body.get("quoted") or ""),
        "push_name": str(body.get("push_name") or ""),
    }


def _manual_ack(sim: Simulator, msg_id: str, body: dict[str, Any]) -> Response:
    ack = int(body.get("ack", 0))
    if ack not in (-1, 2, 3, 4):
        return _error(400, "ack must be -1 (refused), 2 (delivered), 3 (read) or 4 (played)")
    found = sim.messages.find(msg_id)
    if found is None:
        return _error(404, f"no message {msg_id!r}")
    if not chat.fire_ack(sim, found[0], msg_id, ack):
        return _error(409, "session is not connected; the ack would be lost")
    return json_response(200, {"id": msg_id, "ack": ack})


def _faults(sim: Simulator, method: str, body: dict[str, Any]) -> Response | None:
    if method == "DELETE":
        sim.faults.clear()
    elif method == "POST":
        route = str(body.get("route") or ANY_ROUTE)
        sim.faults.set(route, Fault.from_json(body))
    elif method != "GET":
        return None
    return json_response(200, {"faults": sim.faults.as_json()})


def _settings(sim: Simulator, body: dict[str, Any]) -> Response:
    with sim.lock:
        for key in ("auto_close", "qr_interval", "init_delay"):
            if body.get(key) is not None:
                setattr(sim.settings, key, float(body[key]))
        s = sim.settings
        return json_response(
            200,
            {"auto_close": s.auto_close, "qr_interval": s.qr_interval, "init_delay": s.init_delay},
        )
