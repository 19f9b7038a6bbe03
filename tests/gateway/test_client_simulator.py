"""The client against the running simulator over real HTTP: every function, every fault mode."""

from __future__ import annotations

import time

import pytest

from whatsapp.gateway import (
    ConfigurationError,
    GatewayClient,
    GatewayTimeout,
    NotConnected,
    ServerError,
    Timeouts,
    UnknownNumber,
    Unreachable,
)
from whatsapp.gateway.token import clear_token_cache

SECRET = "client-sim-secret"
PHONE = "5521987654321"


@pytest.fixture(scope="module")
def simulator():
    from whatsapp.simulator.testing import start_simulator

    handle = start_simulator(SECRET, init_delay=0.05)
    yield handle
    handle.stop()


@pytest.fixture
def sim(simulator):
    simulator.reset(seed=3)
    yield simulator
    simulator.reset()


def make_client(sim, name="cli", **timeouts) -> GatewayClient:
    return GatewayClient(sim.url, name, SECRET, timeouts=Timeouts(**timeouts) if timeouts else None)


@pytest.fixture
def client(sim):
    return make_client(sim)


@pytest.fixture
def connected(sim, client):
    client.start_session()
    sim.wait_for_status("cli", "QRCODE")
    sim.scan("cli", PHONE)
    sim.wait_for_status("cli", "CONNECTED")
    return client


def test_start_returns_the_previous_status_then_status_shows_the_qr(sim, client):
    first = client.start_session(webhook="http://127.0.0.1:9/hook")
    assert first.status == "CLOSED" and first.qrcode is None
    sim.wait_for_status("cli", "QRCODE")
    state = client.status()
    assert state.status == "QRCODE" and state.qrcode.startswith("data:image/png;base64,")
    assert client.start_session().status == "QRCODE"  # previous status again (§8.1)
    assert client.qrcode().startswith("data:image/png;base64,")
    assert client.check_connection() is False


def test_start_with_a_phone_asks_for_a_pairing_code(sim, client):
    client.start_session(phone=PHONE)
    entry = sim.wait_for_status("cli", "PHONECODE")
    assert entry["pairing_code"]
    assert client.status().status == "PHONECODE"


def test_a_connected_session_reports_device_phone_and_sends(sim, connected):
    state = connected.status()
    assert state.connected and state.qrcode is None  # the stale QR is dropped (§4.1)
    assert connected.check_connection() is True
    device = connected.host_device()
    assert device.phone == PHONE and device.platform
    assert connected.phone_number() == PHONE
    assert connected.check_number("5521911112222").exists is True
    sent = connected.send_text("+55 (21) 91111-2222", "olá")
    assert sent.id.startswith("true_5521911112222@c.us_") and sent.ack >= 0
    assert len(sim.ledger(phone="5521911112222")) == 1
    found = connected.get_message(sent.id)
    assert found is not None and found.from_me and found.body == "olá"
    recent = connected.recent_messages("5521911112222")
    assert [m.body for m in recent if m.from_me] == ["olá"]
    assert connected.get_message("true_5521911112222@c.us_3EB0DOESNOTEXIST") is None


def test_unknown_numbers_are_permanent_and_not_sent(sim, connected):
    sim.set_unknown_numbers(["5521900000000"])
    with pytest.raises(UnknownNumber) as info:
        connected.send_text("5521900000000", "hi")
    assert info.value.permanent and info.value.delivered == "no"
    assert "5521900000000" not in str(info.value)
    assert connected.check_number("5521900000000").exists is False
    assert sim.ledger() == []


def test_close_and_logout(sim, connected):
    connected.close()
    assert connected.status().status == "CLOSED"
    with pytest.raises(NotConnected):
        connected.logout()


def test_calls_on_a_never_started_session(client):
    assert client.status().status == "CLOSED"
    assert client.qrcode() is None
    assert client.check_connection() is False
    with pytest.raises(NotConnected):
        client.send_text(PHONE, "hi")
    with pytest.raises(ServerError) as info:
        client.close()
    assert info.value.http_status == 500
    assert client.healthz() is True


def test_a_wrong_secret_is_a_configuration_error(sim):
    clear_token_cache()
    client = GatewayClient(sim.url, "cli", "wrong-secret")
    with pytest.raises(ConfigurationError) as info:
        client.status()
    assert "wrong-secret" not in str(info.value)


def test_a_hang_becomes_a_timeout_within_the_configured_limit(sim):
    sim.set_fault("status-session", hang=10)
    client = make_client(sim, read=1.0)
    started = time.monotonic()
    with pytest.raises(GatewayTimeout) as info:
        client.status()
    assert time.monotonic() - started < 3
    assert info.value.delivered == "unknown"


def test_a_hung_start_uses_the_session_timeout(sim):
    sim.set_fault("start-session", hang=10)
    client = make_client(sim, read=0.5, session=1.5)
    started = time.monotonic()
    with pytest.raises(GatewayTimeout):
        client.start_session()
    assert 1.4 <= time.monotonic() - started < 4


def test_latency_is_only_latency(sim, client):
    sim.set_fault("status-session", latency=0.3)
    started = time.monotonic()
    assert client.status().status == "CLOSED"
    assert time.monotonic() - started >= 0.3


def test_a_5xx_is_a_server_error_with_unknown_delivery(sim, connected):
    sim.set_fault("send-message", error_rate=1.0, error_status=500)
    with pytest.raises(ServerError) as info:
        connected.send_text(PHONE, "hi")
    assert info.value.http_status == 500 and info.value.delivered == "unknown"
    assert sim.ledger() == []


def test_a_drop_after_acceptance_is_a_timeout_and_the_ledger_shows_the_send(sim, connected):
    sim.set_fault("send-message", drop_rate=1.0)
    with pytest.raises(GatewayTimeout) as info:
        connected.send_text(PHONE, "dropped")
    assert info.value.delivered == "unknown"
    assert len(sim.ledger(message="dropped")) == 1


def test_a_refused_connection_is_unreachable_then_it_recovers(sim, client):
    sim.refuse(1.0)
    with pytest.raises(Unreachable) as info:
        client.status()
    assert info.value.delivered == "no" and not info.value.permanent
    assert info.value.reason == "refused", info.value
    time.sleep(1.3)
    assert client.status().status == "CLOSED"


def test_stay_initializing_keeps_the_session_starting(sim, client):
    sim.set_fault("start-session", stay_initializing=True)
    client.start_session()
    time.sleep(0.5)
    assert client.status().status == "INITIALIZING"
    assert client.check_connection() is False
