from __future__ import annotations

import errno
import time

import pytest
import requests


def test_latency_delays_every_matching_request(sim, api):
    sim.set_fault("status-session", latency=0.3)

    started = time.monotonic()
    response = api.get("status-session")
    elapsed = time.monotonic() - started
    other_started = time.monotonic()
    api.get("check-connection-session")

    assert response.status_code == 200
    assert elapsed >= 0.3
    assert time.monotonic() - other_started < 0.25


def test_hang_holds_the_request_then_answers_normally(sim, api):
    sim.set_fault("start-session", hang=1.0)

    with pytest.raises(requests.exceptions.ReadTimeout):
        api.post("start-session", timeout=0.3)
    assert api.status()["status"] == "CLOSED"

    sim.wait_for_status("demo", "QRCODE", timeout=3)


def test_error_rate_answers_the_route_error_without_doing_the_work(sim, api):
    api.connect()
    sim.set_fault("send-message", error_rate=1.0)

    response = api.send("5521999999999")

    assert response.status_code == 500
    assert response.json() == {
        "status": "Error",
        "message": "Erro ao enviar a mensagem.",
        "error": {},
        "session": "demo",
    }
    assert sim.ledger() == []


def test_error_status_is_configurable(sim, api):
    sim.set_fault("status-session", error_rate=1.0, error_status=503)

    response = api.get("status-session")

    assert response.status_code == 503
    assert response.json()["message"] == "The session is not active"


def test_drop_closes_the_connection_after_doing_the_work(sim, api):
    api.connect()
    sim.set_fault("send-message", drop_rate=1.0)

    with pytest.raises(requests.exceptions.ConnectionError):
        api.send("5521999999999", "lost answer")

    [entry] = sim.ledger()
    assert entry["body"] == "lost answer"
    looked_up = api.get(f"message-by-id/{entry['id']}")
    assert looked_up.json()["response"]["data"]["body"] == "lost answer"


def test_wildcard_faults_apply_to_every_route(sim, api):
    sim.set_fault("*", error_rate=1.0)

    assert api.get("status-session").status_code == 500
    assert api.get("check-connection-session").status_code == 500

    sim.clear_faults()

    assert api.get("status-session").status_code == 200


def test_error_rate_is_repeatable_with_a_seed(sim, api):
    def run() -> list[int]:
        sim.reset(seed=42)
        sim.set_fault("status-session", error_rate=0.5)
        return [api.get("status-session").status_code for _ in range(12)]

    first, second = run(), run()

    assert first == second
    assert 200 in first and 500 in first


def test_refuse_gives_connection_refused_then_recovers(sim, api):
    sim.refuse(0.6)

    with pytest.raises(requests.exceptions.ConnectionError) as caught:
        requests.get(f"{sim.url}/healthz", timeout=2)
    refused = caught.value
    while refused is not None and not isinstance(refused, ConnectionRefusedError):
        refused = (
            refused.__cause__
            or refused.__context__
            or (
                refused.args[0]
                if refused.args and isinstance(refused.args[0], BaseException)
                else None
            )
        )
    assert isinstance(refused, ConnectionRefusedError)
    assert refused.errno == errno.ECONNREFUSED

    deadline = time.monotonic() + 3
    while True:
        try:
            assert requests.get(f"{sim.url}/healthz", timeout=2).status_code == 200
            break
        except requests.exceptions.ConnectionError:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert api.get("status-session").status_code == 200


def test_refuse_cuts_kept_alive_connections_too(sim, api):
    session = requests.Session()
    assert session.get(f"{sim.url}/healthz", timeout=2).status_code == 200

    sim.refuse(0.5)

    with pytest.raises(requests.exceptions.ConnectionError):
        session.get(f"{sim.url}/healthz", timeout=2)
    time.sleep(0.7)
    assert session.get(f"{sim.url}/healthz", timeout=2).status_code == 200


def test_webhooks_can_be_switched_off(sim, api, receiver):
    sim.set_webhooks(False)
    api.post("start-session", {"webhook": receiver.url})
    sim.wait_for_status("demo", "QRCODE")
    time.sleep(0.2)

    assert receiver.events == []


def test_lookup_routes_fail_with_their_real_statuses(sim, api):
    api.connect()
    sim.set_fault("get-messages", error_rate=1.0)
    sim.set_fault("message-by-id", error_rate=1.0)

    listed = api.get("get-messages/5521999999999@c.us")
    by_id = api.get("message-by-id/true_5521999999999@c.us_3EB0000000000000000000AA")

    assert listed.status_code == 401
    assert listed.json()["response"] == "Error on open list"
    assert by_id.status_code == 400
    assert by_id.json()["response"]["message"] == "Error retrieving information"


def test_come_back_ends_a_refusal_early(sim):
    sim.refuse(60)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{sim.url}/healthz", timeout=2)

    sim.come_back()

    assert requests.get(f"{sim.url}/healthz", timeout=2).status_code == 200
    sim.come_back()  # listening already: nothing to do
    assert requests.get(f"{sim.url}/healthz", timeout=2).status_code == 200
