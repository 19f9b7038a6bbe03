"""The same assertions against the simulator and, when configured, a real WPPConnect server.

Set WPPCONNECT_CONFORMANCE_URL and WPPCONNECT_CONFORMANCE_SECRET to run them against a real one.
They only use sessions that are never started (no WhatsApp login is needed) and throwaway
sessions that are started, and then abandoned the way the contract allows (`abandon`): never
close-session while starting or waiting for a scan (that leaks the gateway's browser, §5.6);
wait for the gateway's autoClose instead (WPPCONNECT_CONFORMANCE_AUTOCLOSE seconds, default
330 against a real server with deploy/wppconnect.json's 300 s), log out a connected one, then
delete the browser profile with clear-session-data. The gateway never deletes a session's token
file (§8.13); the run names the sessions whose token-store entries to remove.
"""

from __future__ import annotations

import os
import time
import uuid
import warnings
from collections.abc import Callable, Iterator

import pytest
import requests

from whatsapp.gateway import (
    ConfigurationError,
    GatewayClient,
    NotConnected,
    ServerError,
    mint_token,
)

SIM_SECRET = "conformance-secret"
# The simulator's autoClose, short so that abandoning a started session takes seconds.
SIM_AUTO_CLOSE = 2.0
STARTING = {"INITIALIZING", "QRCODE", "PHONECODE"}


def targets():
    yield pytest.param("simulator", id="simulator")
    if os.environ.get("WPPCONNECT_CONFORMANCE_URL") and os.environ.get(
        "WPPCONNECT_CONFORMANCE_SECRET"
    ):
        yield pytest.param("real", id="real-server")


@pytest.fixture(scope="module")
def simulator():
    from whatsapp.simulator.testing import start_simulator

    handle = start_simulator(SIM_SECRET, init_delay=0.05, auto_close=SIM_AUTO_CLOSE)
    yield handle
    handle.stop()


@pytest.fixture(params=list(targets()))
def gateway(request, simulator):
    if request.param == "real":
        return os.environ["WPPCONNECT_CONFORMANCE_URL"].rstrip("/"), os.environ[
            "WPPCONNECT_CONFORMANCE_SECRET"
        ]
    return simulator.url, SIM_SECRET


def fresh_session() -> str:
    return f"conf{uuid.uuid4().hex[:10]}"


def abandon(client: GatewayClient, wait_seconds: float) -> str:
    """Leave a started session as the gateway found it, as far as its API allows."""
    deadline = time.monotonic() + wait_seconds
    state = client.status()
    while state.status in STARTING and time.monotonic() < deadline:
        time.sleep(0.5)  # waiting for the gateway's own autoClose timer
        state = client.status()
    if state.status == "CONNECTED":
        client.logout()  # unlinks and drops the session (§5.7)
    elif state.status in STARTING:
        return f"{client.session} still {state.status} after {wait_seconds:.0f} s"
    client.clear_session_data()
    return ""


@pytest.fixture
def started(gateway, request) -> Iterator[Callable[[str], GatewayClient]]:
    """`started(name)` gives a client whose session is abandoned when the test ends."""
    url, secret = gateway
    clients: list[GatewayClient] = []

    def start(name: str) -> GatewayClient:
        clients.append(GatewayClient(url, name, secret))
        return clients[-1]

    yield start
    real = url != getattr(request.getfixturevalue("simulator"), "url", None)
    wait = float(os.environ.get("WPPCONNECT_CONFORMANCE_AUTOCLOSE", 330 if real else 15))
    problems = [problem for client in clients if (problem := abandon(client, wait))]
    assert problems == [], problems
    if real and clients:
        names = ", ".join(client.session for client in clients)
        warnings.warn(
            f"WPPConnect keeps a token file for {names} (§8.13): delete it from the server's "
            "tokens folder, or the session starts again at the server's next boot.",
            stacklevel=1,
        )


def test_auth_bodies_differ_for_missing_and_wrong_tokens(gateway):
    url, _secret = gateway
    missing = requests.get(f"{url}/api/{fresh_session()}/status-session", timeout=10)
    assert missing.status_code == 401
    assert missing.json() == {"message": "Token is not present. Check your header and try again"}
    wrong = requests.get(
        f"{url}/api/{fresh_session()}/status-session",
        headers={"Authorization": "Bearer abc123"},
        timeout=10,
    )
    assert wrong.status_code == 401
    assert wrong.json() == {"error": "Check that the Session and Token are correct"}


def test_a_wrong_secret_in_the_path_is_a_400(gateway):
    url, _secret = gateway
    response = requests.post(f"{url}/api/{fresh_session()}/WRONGSECRET/generate-token", timeout=10)
    assert response.status_code == 400
    assert response.json() == {"response": False, "message": "The SECRET_KEY is incorrect"}


def test_an_offline_minted_token_is_accepted(gateway):
    url, secret = gateway
    session = fresh_session()
    headers = {"Authorization": f"Bearer {mint_token(session, secret)}"}
    response = requests.get(f"{url}/api/{session}/status-session", headers=headers, timeout=10)
    assert response.status_code == 200
    assert response.json() == {"status": "CLOSED", "qrcode": None}


def test_never_started_session_answers(gateway):
    url, secret = gateway
    client = GatewayClient(url, fresh_session(), secret)
    assert client.status().status == "CLOSED"
    assert client.qrcode() is None
    assert client.check_connection() is False  # HTTP 200 with status false (§5.5)
    with pytest.raises(ServerError) as closing:
        client.close()  # close-session on a never-started session: 500 (§5.6)
    assert closing.value.http_status == 500
    with pytest.raises(NotConnected):
        client.logout()  # 404 Disconnected (§5.7)
    with pytest.raises(NotConnected):
        client.send_text("5521999999999", "hi")


def test_check_connection_is_always_http_200(gateway):
    url, secret = gateway
    session = fresh_session()
    response = requests.get(
        f"{url}/api/{session}/check-connection-session",
        headers={"Authorization": f"Bearer {mint_token(session, secret)}"},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.json() == {"status": False, "message": "Disconnected"}


def test_start_session_returns_the_previous_status(started):
    client = started(fresh_session())
    assert client.start_session().status == "CLOSED"  # the status before this call (§8.1)
    assert client.start_session().status in {"INITIALIZING", "QRCODE"}


def test_a_started_session_is_abandoned_without_leaking_its_browser(simulator):
    client = GatewayClient(simulator.url, fresh_session(), SIM_SECRET)
    client.start_session()
    simulator.wait_for_status(client.session, "QRCODE")
    assert abandon(client, wait_seconds=SIM_AUTO_CLOSE + 10) == ""
    entry = simulator.session(client.session)
    assert entry is not None and entry["status"] == "CLOSED"
    assert entry["leaked"] is False and entry["cleared"] is True


def test_a_wrong_secret_token_is_a_configuration_error(gateway):
    url, _secret = gateway
    client = GatewayClient(url, fresh_session(), "definitely-not-the-secret")
    with pytest.raises(ConfigurationError):
        client.status()


def test_rich_sends_and_downloads_on_a_never_started_session_are_not_connected(gateway):
    """Companion contract §8: every rich route answers 404 Disconnected before starting."""
    import io
    from contextlib import contextmanager

    from whatsapp.gateway.media import Upload

    @contextmanager
    def reader():
        yield io.BytesIO(b"%PDF-1.4\n%%EOF\n")

    url, secret = gateway
    client = GatewayClient(url, fresh_session(), secret)
    pdf = Upload(reader, 15, "application/pdf", "a.pdf", "pdf")
    group = "120363000000000000@g.us"
    calls = [
        lambda: client.send_file("5521999999999", pdf, kind="document", caption="c"),
        lambda: client.send_file(group, pdf, kind="document"),
        lambda: client.send_voice("5521999999999", pdf),
        lambda: client.send_location("5521999999999", -22.9, -43.2, name="n", address="a"),
        lambda: client.send_contact("5521999999999", "5521988887777", "Ana"),
        lambda: client.send_reply("5521999999999", "hi", "false_5521999999999@c.us_3EB0AAAA"),
        lambda: client.send_text(group, "hi"),
        lambda: client.download_media(
            "false_5521999999999@c.us_3EB0AAAA", io.BytesIO(), max_bytes=10
        ),
    ]
    for call in calls:
        with pytest.raises(NotConnected) as caught:
            call()
        assert caught.value.http_status == 404
