"""The gateway client: the only code that speaks HTTP to WPPConnect Server."""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from whatsapp import __version__

from . import parse
from .errors import ConfigurationError, GatewayError, ProtocolError, Rejected, ServerError
from .redact import redact_text
from .sends import SendsMixin
from .token import mint_token
from .transport import from_exception, from_response
from .types import DeviceInfo, GatewayMessage, NumberStatus, SentMessage, SessionState, Timeouts

logger = logging.getLogger("whatsapp.gateway")

USER_AGENT = f"leguas-whatsapp/{__version__}"
# Called after every request with (route, outcome, seconds): the metrics hook in here, so this
# module stays a plain HTTP client. An observer that raises is ignored.
REQUEST_OBSERVERS: list[Callable[[str, object, float], None]] = []


class GatewayClient(SendsMixin):
    """One WPPConnect session on one server. Every method makes exactly one HTTP call.

    Errors are the ``GatewayError`` family; read ``delivered`` and ``permanent`` on them.
    """

    def __init__(
        self,
        base_url: str,
        session: str,
        secret_key: str,
        *,
        timeouts: Timeouts | None = None,
        http: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.timeouts = timeouts or Timeouts()
        self._secret_key = secret_key
        self._token: str | None = None
        self._http = http if http is not None else requests.Session()
        # A JSON Content-Type on a GET makes the server hang on some routes (§1, §8.9).
        self._http.headers.pop("Content-Type", None)
        # Only the configured gateway ever answers: no proxy from the environment (whose own
        # error pages would reach users as the gateway's words) and no .netrc credentials
        # (which would replace the bearer token with Basic auth).
        self._http.trust_env = False
        parts = urlsplit(self.base_url)
        self._where = parts.netloc.rpartition("@")[2] or self.base_url
        # requests turns user-info into Basic auth, replacing the bearer token on every call.
        self._userinfo = "@" in parts.netloc

    def __repr__(self) -> str:
        return f"GatewayClient(base_url={self._safe_base_url()!r}, session={self.session!r})"

    def _safe_base_url(self) -> str:
        parts = urlsplit(self.base_url)
        return parts._replace(netloc=self._where).geturl() if parts.netloc else self.base_url

    # -- plumbing -----------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        for secret in (self._token, self._secret_key):
            if secret:
                text = text.replace(secret, "***")
        return redact_text(text)

    def _auth_token(self) -> str:
        if self._token is None:
            self._token = mint_token(self.session, self._secret_key)
        return self._token

    def _call(
        self,
        method: str,
        route: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        slow: bool = False,
        auth: bool = True,
        accept: tuple[int, ...] = (),
        data: Any = None,
        content_type: str | None = None,
        read_timeout: float | None = None,
        stream: bool = False,
    ) -> requests.Response:
        """One request. Returns 2xx answers and those in ``accept``; raises for the rest.

        ``data`` is a streamed body (gateway/media.py) sent as ``content_type``;
        ``read_timeout`` replaces the usual one (sends of large files take longer).
        """
        if self._userinfo:
            raise ConfigurationError(
                "the gateway URL holds a user name or password; remove them from the gateway URL",
                route=route,
            )
        headers = {"User-Agent": USER_AGENT}
        if auth:
            headers["Authorization"] = f"Bearer {self._auth_token()}"
        if content_type:
            headers["Content-Type"] = content_type
        read = read_timeout or (self.timeouts.session if slow else self.timeouts.read)
        started = time.monotonic()
        try:
            response = self._http.request(
                method,
                self.base_url + path,
                headers=headers,
                json=json,
                data=data,
                params=params,
                timeout=(self.timeouts.connect, read),
                allow_redirects=False,
                stream=stream,
            )
        except requests.RequestException as exc:
            error = from_exception(exc, route, self._where)
            self._log(method, route, error.kind, started)
            raise error from None
        self._log(method, route, response.status_code, started)
        if 200 <= response.status_code < 300 or response.status_code in accept:
            return response
        raise from_response(response, route, self._scrub)

    def _log(self, method: str, route: str, outcome: int | str, started: float) -> None:
        elapsed = time.monotonic() - started
        for observer in REQUEST_OBSERVERS:
            try:
                observer(route, outcome, elapsed)
            except Exception:  # metrics must never break a gateway call
                logger.debug("request observer failed", exc_info=True)
        elapsed_ms = elapsed * 1000
        logger.debug(
            "gateway %s %s session=%s -> %s in %.0f ms",
            method,
            route,
            self.session,
            outcome,
            elapsed_ms,
        )

    def _path(self, route: str, *segments: str) -> str:
        tail = "".join("/" + quote(segment, safe="@") for segment in segments)
        return f"/api/{quote(self.session, safe='')}/{route}{tail}"

    @staticmethod
    def _json(response: requests.Response, route: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise ProtocolError(
                f"the gateway answered {route} with something that is not JSON", route=route
            ) from None

    def _get(self, route: str, *segments: str, **kwargs: Any) -> Any:
        response = self._call("GET", route, self._path(route, *segments), **kwargs)
        return self._json(response, route)

    def _post(self, route: str, body: dict[str, Any], *, slow: bool = False) -> Any:
        response = self._call("POST", route, self._path(route), json=body, slow=slow)
        return self._json(response, route)

    @staticmethod
    def _recipient(to: str, route: str) -> tuple[dict[str, Any], str]:
        """The body's addressing fields and the chat id they make (contract §1.2, §1.3).

        A group needs ``isGroup`` (else the server mangles its id); a LID of 14 digits or less
        needs ``isLid`` (else the server turns it into a phone number's ``@c.us``).
        """
        if to.endswith("@g.us"):
            return {"phone": to, "isGroup": True}, to
        if to.endswith("@lid"):
            return {"phone": to, "isGroup": False, "isLid": True}, to
        number = parse.digits(to)
        if not number:
            raise Rejected("the recipient has no digits", route=route)
        return {"phone": number, "isGroup": False}, f"{number}@c.us"

    # -- sessions -----------------------------------------------------------------------

    def start_session(
        self, *, webhook: str | None = None, phone: str | None = None
    ) -> SessionState:
        """Ask the gateway to start the session; startup continues in the background.

        The returned state is the status *before* this call (§8.1): a first start answers
        CLOSED. Poll ``status()`` for QRCODE / PHONECODE / CONNECTED. ``waitQrCode`` is
        always false: true can hold the request forever (§5.2, §8.2).
        """
        body: dict[str, Any] = {"waitQrCode": False}
        if webhook:
            body["webhook"] = webhook
        if phone:
            body["phone"] = parse.digits(phone)
        return parse.session_state(self._post("start-session", body, slow=True), "start-session")

    def status(self) -> SessionState:
        return parse.session_state(self._get("status-session"), "status-session")

    def qrcode(self) -> str | None:
        """The current QR as a data URL, or None when there is none (§5.4: PNG or JSON)."""
        route = "qrcode-session"
        response = self._call("GET", route, self._path(route))
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type.startswith("image/"):
            if not response.content:
                raise ProtocolError(f"the gateway sent an empty image on {route}", route=route)
            encoded = base64.b64encode(response.content).decode("ascii")
            return f"data:{content_type};base64,{encoded}"
        parse.expect_dict(self._json(response, route), route)
        return None

    def check_connection(self) -> bool:
        """Whether the session is really usable. Always HTTP 200: the body decides (§5.5)."""
        route = "check-connection-session"
        data = parse.expect_dict(self._get(route), route)
        if not isinstance(data.get("status"), bool):
            raise ProtocolError(f"unexpected answer from the gateway on {route}", route=route)
        return bool(data["status"])

    def close(self) -> None:
        """Close the browser, keep the login. A 500 can mean "never started" (§5.6)."""
        self._post("close-session", {}, slow=True)

    def logout(self) -> None:
        """Unlink the device. Raises NotConnected unless the session is connected (§5.7)."""
        self._post("logout-session", {}, slow=True)

    def clear_session_data(self) -> None:
        """Delete the session's browser profile (secret in the path, no token, §5.13).

        The server never deletes the session's token file (§8.13): the name stays in
        show-all-sessions and auto-starts at the server's next boot until it is removed there.
        """
        route = "clear-session-data"
        session, secret = quote(self.session, safe=""), quote(self._secret_key, safe="")
        self._call("POST", route, f"/api/{session}/{secret}/{route}", auth=False, slow=True)

    # -- messages -----------------------------------------------------------------------

    def send_text(self, phone: str, text: str) -> SentMessage:
        """Send a text to a number, a group (``…@g.us``) or a LID (``…@lid``); raises
        UnknownNumber (400), NotConnected (404), ServerError (500)."""
        body, chat = self._recipient(phone, "send-message")
        body["message"] = text
        return parse.sent_message(self._post("send-message", body), "send-message", chat)

    def get_message(self, message_id: str) -> GatewayMessage | None:
        """Look a message up by its id; None when the gateway does not know it.

        ``message-by-id`` answers a found message with 201 and the message under
        ``response.data``, and any failure (including "not found") with 400 ``"status":
        "Error"`` (deviceController.ts returnSucess/returnError).
        """
        route = "message-by-id"
        response = self._call("GET", route, self._path(route, message_id), accept=(400,))
        data = parse.expect_dict(self._json(response, route), route)
        if response.status_code == 400:
            if data.get("status") == "Error":
                return None
            raise from_response(response, route, self._scrub)
        found = parse.expect_dict(data.get("response"), route).get("data")
        return parse.gateway_message(found, route) if found else None

    def recent_messages(self, phone: str, count: int = 50) -> list[GatewayMessage]:
        """The chat's last ``count`` messages, oldest first, for reconciling a lost answer."""
        route = "get-messages"
        # The server passes this segment to the library untouched: it needs the chat id.
        chat_id = phone if "@" in phone else f"{parse.digits(phone)}@c.us"
        params = {"count": count, "direction": "before"}
        response = self._call(
            "GET", route, self._path(route, chat_id), params=params, accept=(401,)
        )
        body = self._json(response, route)
        if response.status_code == 401:
            if isinstance(body, dict) and body.get("status") == "error":
                # get-messages reports its own failures as 401 (deviceController.ts).
                raise ServerError(
                    "the gateway could not list the chat's messages", http_status=401, route=route
                )
            raise from_response(response, route, self._scrub)
        return parse.message_list(body, route)

    # -- device -------------------------------------------------------------------------

    def host_device(self) -> DeviceInfo:
        return parse.device_info(self._get("host-device"), "host-device")

    def phone_number(self) -> str:
        return parse.phone_number(self._get("get-phone-number"), "get-phone-number")

    def check_number(self, phone: str) -> NumberStatus:
        route = "check-number-status"
        number = parse.digits(phone)
        if not number:
            raise Rejected("the number has no digits", route=route)
        return parse.number_status(self._get(route, number), route)

    def healthz(self) -> bool:
        """True when the server process answers /healthz; transport failures raise.

        Sent without a Content-Type header: with one the server never answers (§8.9).
        """
        route = "healthz"
        try:
            response = self._call("GET", route, "/healthz", auth=False)
        except GatewayError as error:
            if error.http_status is not None:
                return False
            raise
        data = self._json(response, route)
        return isinstance(data, dict) and data.get("message") == "OK"
