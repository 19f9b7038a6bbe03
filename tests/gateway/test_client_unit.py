"""Unit tests of the gateway client against the bodies of shared/wppconnect-contract.md."""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator

import bcrypt
import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError
from urllib3.exceptions import ProtocolError as Urllib3ProtocolError

from whatsapp.gateway import (
    STATUSES,
    ConfigurationError,
    ConnectionRefused,
    GatewayClient,
    GatewayError,
    GatewayTimeout,
    NotConnected,
    ProtocolError,
    Rejected,
    ServerError,
    Timeouts,
    UnknownNumber,
    Unreachable,
    mask_phone,
    mint_token,
)

BASE = "http://gw.test:21465"
SESSION = "demo"
SECRET = "localtestsecret"
PHONE = "5521999999999"
TOKEN = mint_token(SESSION, SECRET)
DISCONNECTED = {
    "response": None,
    "status": "Disconnected",
    "message": "A sessão do WhatsApp não está ativa.",
}
MESSAGE_ID = f"true_{PHONE}@c.us_3EB0C4A1B2D3E4F5A6B7"
MESSAGE = {
    "id": MESSAGE_ID,
    "ack": 1,
    "t": 1795930171,
    "from": "5521888888888@c.us",
    "to": f"{PHONE}@c.us",
    "chatId": f"{PHONE}@c.us",
    "fromMe": True,
    "body": "hello",
    "type": "chat",
    "isGroupMsg": False,
}
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def url(route: str) -> str:
    return f"{BASE}/api/{SESSION}/{route}"


class RecordingSession(requests.Session):
    """Records the keyword arguments of every request (timeouts, redirects)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[dict] = []

    def request(self, method, url, **kwargs):  # type: ignore[override]
        self.sent.append({"method": method, "url": url, **kwargs})
        return super().request(method, url, **kwargs)


@pytest.fixture
def http() -> RecordingSession:
    return RecordingSession()


@pytest.fixture
def client(http: RecordingSession) -> GatewayClient:
    return GatewayClient(BASE, SESSION, SECRET, http=http)


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


def assert_clean(text: str) -> None:
    assert SECRET not in text
    assert TOKEN not in text
    assert TOKEN.replace("_", "/") not in text
    assert PHONE not in text


@pytest.fixture(autouse=True)
def logs_never_leak(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG, logger="whatsapp.gateway")
    yield
    for record in caplog.records:
        assert_clean(record.getMessage())


def raised(call: Callable[[], object]) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        call()
    error = caught.value
    assert_clean(str(error))
    assert_clean(repr(error))
    return error


# -- authentication (§2) --------------------------------------------------------------------


def test_it_sends_a_bearer_token_the_server_would_accept(client, rsps):
    rsps.get(url("status-session"), json={"status": "CLOSED", "qrcode": None})

    client.status()

    header = rsps.calls[0].request.headers["Authorization"]
    scheme, token = header.split(" ")
    assert scheme == "Bearer"
    assert bcrypt.checkpw(b"demolocaltestsecret", token.replace("_", "/").encode())


def test_a_401_for_a_missing_token_is_a_configuration_error(client, rsps):
    rsps.get(
        url("status-session"),
        status=401,
        json={"message": "Token is not present. Check your header and try again"},
    )

    error = raised(client.status)

    assert isinstance(error, ConfigurationError)
    assert (error.kind, error.http_status, error.permanent, error.delivered) == (
        "rejected",
        401,
        True,
        "no",
    )
    assert "secret key" in error.message


def test_a_401_for_a_wrong_token_is_a_configuration_error(client, rsps):
    rsps.get(
        url("status-session"),
        status=401,
        json={"error": "Check that the Session and Token are correct"},
    )

    error = raised(client.status)

    assert isinstance(error, ConfigurationError)
    assert "session name" in error.message


def test_a_400_wrong_secret_is_a_configuration_error(client, rsps):
    rsps.get(
        url("status-session"),
        status=400,
        json={"response": False, "message": "The SECRET_KEY is incorrect"},
    )

    error = raised(client.status)

    assert isinstance(error, ConfigurationError)
    assert error.permanent is True


def test_an_overlong_secret_fails_before_any_request(http, rsps):
    client = GatewayClient(BASE, SESSION, "z" * 80, http=http)

    error = raised(client.status)

    assert isinstance(error, ConfigurationError)
    assert "z" * 80 not in error.message
    assert len(rsps.calls) == 0


# -- status-session (§5.3, §4.1) ------------------------------------------------------------


def test_a_never_started_session_is_closed(client, rsps):
    rsps.get(url("status-session"), json={"status": "CLOSED", "qrcode": None})

    state = client.status()

    assert (state.status, state.connected, state.qrcode, state.version) == (
        "CLOSED",
        False,
        None,
        None,
    )
    assert state.raw_status == "CLOSED"


def test_status_tolerates_the_injected_session_key(client, rsps):
    rsps.get(url("status-session"), json={"status": "CLOSED", "qrcode": None, "session": ""})

    assert client.status().status == "CLOSED"


def test_status_while_starting_is_initializing_with_the_server_version(client, rsps):
    rsps.get(
        url("status-session"),
        json={"status": "INITIALIZING", "qrcode": None, "version": "2.10.4"},
    )

    state = client.status()

    assert (state.status, state.version, state.connected) == ("INITIALIZING", "2.10.4", False)


def test_status_connected_drops_the_stale_qrcode(client, rsps):
    rsps.get(
        url("status-session"),
        json={
            "status": "CONNECTED",
            "qrcode": "data:image/png;base64,STALE",
            "urlcode": "2@stale",
            "version": "2.10.4",
        },
    )

    state = client.status()

    assert state.connected is True
    assert state.qrcode is None


def test_status_closed_after_autoclose_drops_the_stale_qrcode(client, rsps):
    rsps.get(
        url("status-session"),
        json={"status": "CLOSED", "qrcode": "data:image/png;base64,STALE", "urlcode": "2@x"},
    )

    assert client.status().qrcode is None


def test_status_in_qr_phase_returns_the_qr_data_url(client, rsps):
    rsps.get(
        url("status-session"),
        json={
            "status": "QRCODE",
            "qrcode": "data:image/png;base64,AAAA",
            "urlcode": "2@abc",
            "version": "2.10.4",
        },
    )

    state = client.status()

    assert state.status == "QRCODE"
    assert state.qrcode == "data:image/png;base64,AAAA"
    assert "AAAA" not in repr(state)


def test_a_null_status_is_reported_as_closed(client, rsps):
    rsps.get(url("status-session"), json={"status": None, "qrcode": None, "version": "2.10.4"})

    state = client.status()

    assert state.status == "CLOSED"
    assert state.raw_status is None


def test_an_unknown_status_word_is_closed_but_kept_for_logs(client, rsps):
    rsps.get(url("status-session"), json={"status": "browserClose", "qrcode": None})

    state = client.status()

    assert state.status in STATUSES
    assert state.status == "CLOSED"
    assert state.raw_status == "browserClose"


def test_a_status_body_without_status_is_a_protocol_error(client, rsps):
    rsps.get(url("status-session"), json={"qrcode": None})

    assert isinstance(raised(client.status), ProtocolError)


# -- start-session (§5.2, §8.1) -------------------------------------------------------------


def test_start_session_returns_the_previous_status_closed_on_a_first_start(client, rsps):
    rsps.post(url("start-session"), json={"status": "CLOSED", "qrcode": None, "session": ""})

    state = client.start_session(webhook="http://web.test/hook/abc")

    assert state.status == "CLOSED"


def test_start_session_on_a_starting_session_returns_initializing(client, rsps):
    rsps.post(
        url("start-session"),
        json={"status": "INITIALIZING", "qrcode": None, "version": "2.10.4", "session": "demo"},
    )

    assert client.start_session().status == "INITIALIZING"


def test_start_session_after_close_with_null_status_is_closed(client, rsps):
    rsps.post(url("start-session"), json={"status": None, "qrcode": None, "version": "2.10.4"})

    assert client.start_session().status == "CLOSED"


def test_start_session_never_asks_to_wait_for_the_qr_code(client, rsps):
    rsps.post(url("start-session"), json={"status": "CLOSED", "qrcode": None})
    rsps.post(url("start-session"), json={"status": "INITIALIZING", "qrcode": None})

    client.start_session(webhook="http://web.test/hook/abc", phone="+55 (21) 99999-9999")
    client.start_session()

    with_options = json.loads(rsps.calls[0].request.body)
    bare = json.loads(rsps.calls[1].request.body)
    assert with_options == {
        "waitQrCode": False,
        "webhook": "http://web.test/hook/abc",
        "phone": PHONE,
    }
    assert bare == {"waitQrCode": False}


def test_start_session_with_a_lowercase_qrcode_answer_is_qrcode(client, rsps):
    rsps.post(
        url("start-session"),
        json={"status": "qrcode", "qrcode": "iVBORw0KGgo", "urlcode": "2@x", "session": "demo"},
    )

    state = client.start_session()

    assert state.status == "QRCODE"
    assert state.qrcode == "data:image/png;base64,iVBORw0KGgo"


# -- qrcode-session (§5.4) ------------------------------------------------------------------


def test_qrcode_returns_a_png_answer_as_a_data_url(client, rsps):
    rsps.get(url("qrcode-session"), body=PNG, content_type="image/png")

    data_url = client.qrcode()

    assert data_url == "data:image/png;base64," + base64.b64encode(PNG).decode()


def test_qrcode_of_a_never_started_session_is_none(client, rsps):
    rsps.get(
        url("qrcode-session"),
        json={
            "status": None,
            "message": "Session not started. Please, use the /start-session route, "
            "for initialization your session",
        },
    )

    assert client.qrcode() is None


def test_qrcode_while_initializing_is_none(client, rsps):
    rsps.get(
        url("qrcode-session"),
        json={"status": "INITIALIZING", "message": "QRCode is not available..."},
    )

    assert client.qrcode() is None


def test_qrcode_after_close_with_null_status_is_none(client, rsps):
    rsps.get(url("qrcode-session"), json={"status": None, "message": "QRCode is not available..."})

    assert client.qrcode() is None


def test_qrcode_with_an_unexpected_content_type_is_a_protocol_error(client, rsps):
    rsps.get(url("qrcode-session"), body="<html></html>", content_type="text/html")

    assert isinstance(raised(client.qrcode), ProtocolError)


# -- check-connection-session (§5.5) --------------------------------------------------------


def test_it_reads_check_connection_body_not_status_code(client, rsps):
    rsps.get(url("check-connection-session"), json={"status": False, "message": "Disconnected"})

    assert client.check_connection() is False


def test_check_connection_is_true_when_the_body_says_connected(client, rsps):
    rsps.get(url("check-connection-session"), json={"status": True, "message": "Connected"})

    assert client.check_connection() is True


def test_check_connection_without_a_boolean_is_a_protocol_error(client, rsps):
    rsps.get(url("check-connection-session"), json={"message": "Connected"})

    assert isinstance(raised(client.check_connection), ProtocolError)


# -- close-session and logout-session (§5.6, §5.7) ------------------------------------------


def test_close_succeeds_on_200(client, rsps):
    rsps.post(url("close-session"), json={"status": True, "message": "Session successfully closed"})

    assert client.close() is None


def test_close_of_a_never_started_session_is_a_server_error_keeping_its_message(client, rsps):
    rsps.post(
        url("close-session"),
        status=500,
        json={
            "status": False,
            "message": "Error closing session",
            "error": {"level": "error"},
            "session": "",
        },
    )

    error = raised(client.close)

    assert isinstance(error, ServerError)
    assert (error.kind, error.http_status, error.delivered, error.permanent) == (
        "server_error",
        500,
        "unknown",
        False,
    )
    assert error.server_message == "Error closing session"
    assert "Error closing session" in error.message


def test_logout_succeeds_on_200(client, rsps):
    rsps.post(
        url("logout-session"), json={"status": True, "message": "Session successfully closed"}
    )

    assert client.logout() is None


def test_logout_of_a_disconnected_session_is_not_connected(client, rsps):
    rsps.post(url("logout-session"), status=404, json={**DISCONNECTED, "session": ""})

    error = raised(client.logout)

    assert isinstance(error, NotConnected)
    assert (error.kind, error.http_status, error.delivered, error.permanent) == (
        "rejected",
        404,
        "no",
        False,
    )


# -- send-message (§5.8) --------------------------------------------------------------------


def test_send_text_returns_the_first_message_of_the_response(client, rsps):
    rsps.post(
        url("send-message"),
        status=201,
        json={"status": "success", "response": [MESSAGE], "mapper": "return", "session": "demo"},
    )

    sent = client.send_text("+55 21 99999-9999", "hello")

    assert (sent.id, sent.ack, sent.to) == (MESSAGE_ID, 1, f"{PHONE}@c.us")
    assert_clean(repr(sent))


def test_send_text_posts_digits_the_text_and_is_group_false(client, rsps):
    rsps.post(url("send-message"), status=201, json={"status": "success", "response": [MESSAGE]})

    client.send_text("+55 (21) 99999-9999", "olá")

    assert json.loads(rsps.calls[0].request.body) == {
        "phone": PHONE,
        "message": "olá",
        "isGroup": False,
    }


def test_send_text_to_an_unknown_number_is_permanent_and_masks_the_number(client, rsps):
    rsps.post(
        url("send-message"),
        status=400,
        json={
            "response": None,
            "status": "Connected",
            "message": f"O número {PHONE} não existe.",
            "session": "demo",
        },
    )

    error = raised(lambda: client.send_text(PHONE, "hi"))

    assert isinstance(error, UnknownNumber)
    assert (error.http_status, error.delivered, error.permanent) == (400, "no", True)
    assert error.message == "number 5521*****9999 is not on WhatsApp"
    assert error.server_message is not None
    assert_clean(error.server_message)


def test_send_text_to_a_disconnected_session_is_not_connected(client, rsps):
    rsps.post(url("send-message"), status=404, json={**DISCONNECTED, "session": "demo"})

    error = raised(lambda: client.send_text(PHONE, "hi"))

    assert isinstance(error, NotConnected)
    assert error.delivered == "no"


def test_send_text_server_failure_has_unknown_delivery(client, rsps):
    rsps.post(
        url("send-message"),
        status=500,
        json={"status": "Error", "message": "Erro ao enviar a mensagem.", "error": {}},
    )

    error = raised(lambda: client.send_text(PHONE, "hi"))

    assert isinstance(error, ServerError)
    assert error.delivered == "unknown"
    assert error.server_message == "Erro ao enviar a mensagem."


def test_send_text_rejected_with_a_bare_json_string_is_permanent(client, rsps):
    rsps.post(url("send-message"), status=400, json="Error sending message")

    error = raised(lambda: client.send_text(PHONE, "hi"))

    assert type(error) is Rejected
    assert (error.delivered, error.permanent) == ("no", True)


def test_send_text_without_digits_is_rejected_without_a_request(client, rsps):
    error = raised(lambda: client.send_text("not a number", "hi"))

    assert isinstance(error, Rejected)
    assert len(rsps.calls) == 0


def test_send_text_answer_without_a_message_id_is_a_protocol_error(client, rsps):
    rsps.post(url("send-message"), status=201, json={"status": "success", "response": []})

    error = raised(lambda: client.send_text(PHONE, "hi"))

    assert isinstance(error, ProtocolError)
    assert error.delivered == "unknown"


# -- host-device, get-phone-number, check-number-status (§5.9, §5.10) -----------------------


def test_host_device_reads_phone_pushname_and_platform(client, rsps):
    rsps.get(
        url("host-device"),
        json={
            "status": "success",
            "response": {
                "pushname": "Leguas",
                "platform": "android",
                "connected": True,
                "phoneNumber": f"{PHONE}@c.us",
            },
            "mapper": "device",
        },
    )

    device = client.host_device()

    assert (device.phone, device.pushname, device.platform) == (PHONE, "Leguas", "android")
    assert device.raw["connected"] is True
    assert_clean(repr(device))
    assert "5521*****9999" in repr(device)


def test_host_device_of_a_disconnected_session_is_not_connected(client, rsps):
    rsps.get(url("host-device"), status=404, json=DISCONNECTED)

    assert isinstance(raised(client.host_device), NotConnected)


def test_host_device_failure_is_a_server_error(client, rsps):
    rsps.get(
        url("host-device"),
        status=500,
        json={"status": "error", "message": "Erro ao recuperar dados do telefone"},
    )

    assert isinstance(raised(client.host_device), ServerError)


def test_phone_number_strips_the_c_us_suffix(client, rsps):
    rsps.get(
        url("get-phone-number"),
        json={"status": "success", "response": f"{PHONE}@c.us", "mapper": "device"},
    )

    assert client.phone_number() == PHONE


def test_phone_number_of_a_disconnected_session_is_not_connected(client, rsps):
    rsps.get(url("get-phone-number"), status=404, json=DISCONNECTED)

    assert isinstance(raised(client.phone_number), NotConnected)


def test_check_number_reports_that_a_number_exists_with_its_wid(client, rsps):
    rsps.get(
        url(f"check-number-status/{PHONE}"),
        json={
            "status": "success",
            "response": {
                "id": {"server": "c.us", "user": PHONE, "_serialized": f"{PHONE}@c.us"},
                "status": 200,
                "isBusiness": False,
                "canReceiveMessage": True,
                "numberExists": True,
            },
        },
    )

    status = client.check_number("+55 21 99999-9999")

    assert (status.exists, status.wid) == (True, f"{PHONE}@c.us")
    assert_clean(repr(status))


def test_check_number_reports_an_unknown_number(client, rsps):
    rsps.get(
        url(f"check-number-status/{PHONE}"),
        json={"status": "success", "response": {"id": None, "numberExists": False}},
    )

    assert client.check_number(PHONE).exists is False


def test_check_number_failure_is_a_server_error(client, rsps):
    rsps.get(
        url(f"check-number-status/{PHONE}"),
        status=500,
        json={"status": "error", "message": "Error on check number status"},
    )

    assert isinstance(raised(lambda: client.check_number(PHONE)), ServerError)


# -- look-ups for reconciling (docs/gateway-lookups.md) -------------------------------------


def test_get_message_finds_a_message_by_id(client, rsps):
    rsps.get(
        url(f"message-by-id/{MESSAGE_ID}"),
        status=201,
        json={
            "status": "Success",
            "response": {
                "message": "Information retrieved successfully.",
                "contact": PHONE,
                "session": "demo",
                "data": {**MESSAGE, "ack": 3},
            },
        },
    )

    message = client.get_message(MESSAGE_ID)

    assert message is not None
    assert (message.id, message.from_me, message.body, message.ack, message.timestamp) == (
        MESSAGE_ID,
        True,
        "hello",
        3,
        1795930171,
    )
    assert message.to == f"{PHONE}@c.us"
    assert_clean(repr(message))


def test_get_message_is_none_when_the_gateway_does_not_know_the_id(client, rsps):
    rsps.get(
        url(f"message-by-id/{MESSAGE_ID}"),
        status=400,
        json={
            "status": "Error",
            "response": {"message": "Error retrieving information", "session": "demo", "log": {}},
        },
    )

    assert client.get_message(MESSAGE_ID) is None


def test_get_message_of_a_disconnected_session_is_not_connected(client, rsps):
    rsps.get(url(f"message-by-id/{MESSAGE_ID}"), status=404, json=DISCONNECTED)

    assert isinstance(raised(lambda: client.get_message(MESSAGE_ID)), NotConnected)


def test_recent_messages_lists_the_chat_with_count_and_direction(client, rsps):
    incoming = {**MESSAGE, "id": f"false_{PHONE}@c.us_AAA", "fromMe": False, "body": "hi"}
    del incoming["ack"]
    rsps.get(
        url(f"get-messages/{PHONE}@c.us"),
        match=[responses.matchers.query_param_matcher({"count": "20", "direction": "before"})],
        json={"status": "success", "response": [incoming, MESSAGE]},
    )

    messages = client.recent_messages("+55 21 99999-9999", count=20)

    assert [(m.from_me, m.body, m.ack) for m in messages] == [
        (False, "hi", None),
        (True, "hello", 1),
    ]


def test_recent_messages_failure_reported_as_401_is_a_server_error(client, rsps):
    rsps.get(
        url(f"get-messages/{PHONE}@c.us"),
        status=401,
        json={"status": "error", "response": "Error on open list", "error": {}},
    )

    error = raised(lambda: client.recent_messages(PHONE))

    assert isinstance(error, ServerError)
    assert not isinstance(error, ConfigurationError)


def test_recent_messages_with_a_wrong_token_is_still_a_configuration_error(client, rsps):
    rsps.get(
        url(f"get-messages/{PHONE}@c.us"),
        status=401,
        json={"error": "Check that the Session and Token are correct"},
    )

    assert isinstance(raised(lambda: client.recent_messages(PHONE)), ConfigurationError)


# -- healthz (§5.14, §8.9) ------------------------------------------------------------------


def test_healthz_sends_no_content_type_and_no_token(client, rsps):
    rsps.get(f"{BASE}/healthz", json={"uptime": 26.5, "message": "OK", "timestamp": 1})

    assert client.healthz() is True
    headers = rsps.calls[0].request.headers
    assert "Content-Type" not in headers
    assert "Authorization" not in headers


def test_healthz_is_false_when_the_server_answers_an_error(client, rsps):
    rsps.get(f"{BASE}/healthz", status=503, body="Service Unavailable")

    assert client.healthz() is False


# -- what goes on the wire ------------------------------------------------------------------

GETS = [
    ("status", (), "status-session", {"status": "CLOSED", "qrcode": None}),
    ("qrcode", (), "qrcode-session", {"status": None, "message": "x"}),
    ("check_connection", (), "check-connection-session", {"status": False}),
    ("host_device", (), "host-device", {"response": {"phoneNumber": f"{PHONE}@c.us"}}),
    ("phone_number", (), "get-phone-number", {"response": f"{PHONE}@c.us"}),
    (
        "check_number",
        (PHONE,),
        f"check-number-status/{PHONE}",
        {"response": {"numberExists": True}},
    ),
    ("recent_messages", (PHONE,), f"get-messages/{PHONE}@c.us", {"response": []}),
]
POSTS = [
    ("start_session", (), "start-session", {"status": "CLOSED", "qrcode": None}, 90.0),
    ("close", (), "close-session", {"status": True}, 90.0),
    ("logout", (), "logout-session", {"status": True}, 90.0),
    ("send_text", (PHONE, "hi"), "send-message", {"response": [MESSAGE]}, 60.0),
]


@pytest.mark.parametrize(("method", "args", "route", "body"), GETS)
def test_no_get_carries_a_content_type_and_reads_time_out_after_60s(
    client, http, rsps, method, args, route, body
):
    rsps.get(url(route), json=body)

    getattr(client, method)(*args)

    request = rsps.calls[0].request
    assert "Content-Type" not in request.headers
    assert request.body is None
    assert http.sent[0]["timeout"] == (5.0, 60.0)
    assert http.sent[0]["allow_redirects"] is False
    assert request.headers["User-Agent"].startswith("leguas-whatsapp/")


@pytest.mark.parametrize(("method", "args", "route", "body", "read_timeout"), POSTS)
def test_posts_carry_exactly_application_json_and_their_timeout(
    client, http, rsps, method, args, route, body, read_timeout
):
    rsps.post(url(route), json=body)

    getattr(client, method)(*args)

    request = rsps.calls[0].request
    assert request.headers["Content-Type"] == "application/json"
    assert isinstance(json.loads(request.body), dict)
    assert http.sent[0]["timeout"] == (5.0, read_timeout)
    assert http.sent[0]["allow_redirects"] is False


def test_custom_timeouts_are_passed_on_every_call(http, rsps):
    client = GatewayClient(
        BASE, SESSION, SECRET, http=http, timeouts=Timeouts(connect=1, read=2, session=3)
    )
    rsps.get(url("status-session"), json={"status": "CLOSED"})
    rsps.post(url("close-session"), json={"status": True})

    client.status()
    client.close()

    assert [sent["timeout"] for sent in http.sent] == [(1, 2), (1, 3)]


def test_a_shared_session_with_a_default_content_type_is_cleaned(rsps):
    shared = requests.Session()
    shared.headers["Content-Type"] = "application/json"
    client = GatewayClient(BASE, SESSION, SECRET, http=shared)
    rsps.get(url("status-session"), json={"status": "CLOSED"})

    client.status()

    assert "Content-Type" not in rsps.calls[0].request.headers


def test_a_redirect_is_not_followed_and_is_a_protocol_error(client, rsps):
    rsps.get(url("status-session"), status=302, headers={"Location": "http://elsewhere.test/"})

    error = raised(client.status)

    assert isinstance(error, ProtocolError)
    assert len(rsps.calls) == 1


def test_every_call_logs_one_debug_line_with_method_route_status_and_time(client, rsps, caplog):
    rsps.get(url(f"check-number-status/{PHONE}"), json={"response": {"numberExists": True}})

    client.check_number(PHONE)

    [record] = [r for r in caplog.records if r.name == "whatsapp.gateway"]
    assert record.levelno == logging.DEBUG
    line = record.getMessage()
    assert "GET check-number-status" in line
    assert "200" in line
    assert " ms" in line


# -- error kinds for transport failures -----------------------------------------------------


class TinyServer:
    """A local socket that reads the request and then stays silent or hangs up."""

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        connection, _ = self.listener.accept()
        connection.recv(65536)
        if self.behaviour == "silent":
            self.done.wait(5)
        connection.close()

    def close(self) -> None:
        self.done.set()
        self.listener.close()


def test_a_refused_connection_is_unreachable_and_safe_to_retry():
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    client = GatewayClient(f"http://127.0.0.1:{port}", SESSION, SECRET)

    error = raised(lambda: client.send_text(PHONE, "hi"))

    assert isinstance(error, Unreachable)
    assert (error.kind, error.delivered, error.permanent) == ("unreachable", "no", False)
    # Named as what it is: nothing listens there. Not a timeout.
    assert isinstance(error, ConnectionRefused) and error.reason == "refused"
    assert "timed out" not in error.message


def test_a_host_that_does_not_resolve_is_unreachable(client, rsps):
    cause = NameResolutionError("gw.test", None, socket.gaierror(-2, "Name or service not known"))  # type: ignore[arg-type]
    rsps.get(
        url("status-session"),
        body=requests.ConnectionError(MaxRetryError(None, "/api/demo/status-session", cause)),  # type: ignore[arg-type]
    )

    error = raised(client.status)

    assert isinstance(error, Unreachable)
    assert "resolved" in error.message


def test_a_refusal_wrapped_by_urllib3_is_unreachable(client, rsps):
    cause = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] refused")  # type: ignore[arg-type]
    rsps.post(
        url("send-message"),
        body=requests.ConnectionError(MaxRetryError(None, "/api/demo/send-message", cause)),  # type: ignore[arg-type]
    )

    assert raised(lambda: client.send_text(PHONE, "hi")).delivered == "no"


def test_a_connect_timeout_is_unreachable(client, rsps):
    rsps.get(url("status-session"), body=requests.ConnectTimeout("connect timed out"))

    assert isinstance(raised(client.status), Unreachable)


def test_a_read_timeout_after_sending_is_a_gateway_timeout_with_unknown_delivery():
    server = TinyServer("silent")
    client = GatewayClient(
        f"http://127.0.0.1:{server.port}", SESSION, SECRET, timeouts=Timeouts(read=0.3)
    )
    try:
        error = raised(lambda: client.send_text(PHONE, "hi"))
    finally:
        server.close()

    assert isinstance(error, GatewayTimeout)
    assert (error.kind, error.delivered, error.permanent) == ("timeout", "unknown", False)


def test_a_connection_dropped_after_sending_is_a_gateway_timeout():
    server = TinyServer("hangup")
    client = GatewayClient(f"http://127.0.0.1:{server.port}", SESSION, SECRET)
    try:
        error = raised(lambda: client.send_text(PHONE, "hi"))
    finally:
        server.close()

    assert isinstance(error, GatewayTimeout)
    assert error.delivered == "unknown"


def test_a_connection_reset_after_sending_is_a_gateway_timeout(client, rsps):
    aborted = Urllib3ProtocolError("Connection aborted.", ConnectionResetError(104, "reset"))
    rsps.post(url("send-message"), body=requests.ConnectionError(aborted))

    error = raised(lambda: client.send_text(PHONE, "hi"))

    assert isinstance(error, GatewayTimeout)
    assert error.delivered == "unknown"


def test_a_body_cut_off_mid_response_is_a_gateway_timeout(client, rsps):
    rsps.post(url("send-message"), body=requests.exceptions.ChunkedEncodingError("cut"))

    assert isinstance(raised(lambda: client.send_text(PHONE, "hi")), GatewayTimeout)


def test_an_earlier_refusal_being_handled_does_not_make_a_drop_look_unsent(client, rsps):
    refused = NewConnectionError(None, "refused")  # type: ignore[arg-type]
    rsps.post(url("send-message"), body=requests.ConnectionError(MaxRetryError(None, "/", refused)))  # type: ignore[arg-type]
    aborted = Urllib3ProtocolError("Connection aborted.", ConnectionResetError(104, "reset"))
    rsps.post(url("send-message"), body=requests.ConnectionError(aborted))

    try:
        client.send_text(PHONE, "hi")
    except Unreachable:
        error = raised(lambda: client.send_text(PHONE, "hi"))

    assert isinstance(error, GatewayTimeout)


def test_an_html_404_page_is_a_protocol_error(client, rsps):
    rsps.get(
        url("status-session"),
        status=404,
        body="<!DOCTYPE html><pre>Cannot GET /api/demo/status-session</pre>",
        content_type="text/html; charset=utf-8",
    )

    error = raised(client.status)

    assert isinstance(error, ProtocolError)
    assert (error.kind, error.http_status, error.delivered) == ("protocol", 404, "unknown")


def test_a_non_json_200_is_a_protocol_error(client, rsps):
    rsps.get(url("status-session"), body="OK", content_type="text/plain")

    error = raised(client.status)

    assert isinstance(error, ProtocolError)
    assert error.kind == "protocol"


# -- secrets and personal data --------------------------------------------------------------


def test_repr_of_the_client_shows_only_url_and_session(client):
    text = repr(client)

    assert text == f"GatewayClient(base_url={BASE!r}, session='demo')"
    assert_clean(text)


def test_repr_of_the_client_hides_credentials_in_the_url():
    client = GatewayClient("http://user:pw@gw.test:21465/", SESSION, SECRET)

    assert "pw" not in repr(client)


def test_a_server_message_echoing_the_secret_is_scrubbed(client, rsps):
    rsps.get(
        url("status-session"),
        status=500,
        json={"status": "error", "message": f"bad {SECRET} for {PHONE}"},
    )

    error = raised(client.status)

    assert error.server_message == "bad *** for 5521*****9999"


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("5521999999999", "5521*****9999"),
        ("5521999999999@c.us", "5521*****9999@c.us"),
        ("+55 (21) 99999-9999", "5521*****9999"),
        ("12345678", "******78"),
        ("", ""),
    ],
)
def test_mask_phone_hides_the_middle_digits(phone, masked):
    assert mask_phone(phone) == masked


def test_clear_session_data_puts_the_secret_in_the_path_and_sends_no_token(client, rsps, http):
    rsps.post(f"{BASE}/api/{SESSION}/{SECRET}/clear-session-data", json={"success": True})

    client.clear_session_data()

    assert "Authorization" not in rsps.calls[0].request.headers


def test_a_failed_clear_session_data_never_shows_the_secret(client, rsps):
    rsps.post(
        f"{BASE}/api/{SESSION}/{SECRET}/clear-session-data",
        status=400,
        json={"response": "error", "message": "The token is incorrect"},
    )

    error = raised(client.clear_session_data)

    assert_clean(str(error) + repr(error) + (error.server_message or ""))
