from __future__ import annotations

import os
import signal
import subprocess
import sys

import requests

from whatsapp.simulator.testing import SimulatorControlError


def test_control_page_shows_the_qr_and_a_scan_button(sim, api):
    api.post("start-session")
    sim.wait_for_status("demo", "QRCODE")

    page = requests.get(f"{sim.url}/_sim/", timeout=5)

    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "<meta http-equiv=refresh content=3>" in page.text
    assert "data:image/png;base64," in page.text
    assert "action='/_sim/sessions/demo/scan'" in page.text


def test_the_page_keeps_the_qr_number_apart_and_hides_the_webhook_secret(sim, api):
    secret = "s3cr3t-webhook-path-segment-0123456789"
    api.post("start-session", {"webhook": f"http://web:8000/whatsapp/webhooks/main/{secret}/"})
    sim.wait_for_status("demo", "QRCODE")

    page = requests.get(f"{sim.url}/_sim/", timeout=5).text

    # Its own line, not "QR #1Scan".
    assert "<p class=muted>QR #1</p>" in page
    assert secret not in page
    assert "http://web:8000/whatsapp/webhooks/main/•••/" in page


def test_the_page_scan_form_connects_and_redirects_back(sim, api):
    api.post("start-session")
    sim.wait_for_status("demo", "QRCODE")

    response = requests.post(
        f"{sim.url}/_sim/sessions/demo/scan",
        data={"from": "page"},
        allow_redirects=False,
        timeout=5,
    )

    assert response.status_code == 303
    assert response.headers["Location"] == "/_sim/"
    assert api.status()["status"] == "CONNECTED"
    assert "Unlink phone" in requests.get(f"{sim.url}/_sim/", timeout=5).text


def test_scan_outside_the_qr_phase_is_a_409(sim):
    try:
        sim.scan("demo")
    except SimulatorControlError as exc:
        assert exc.status == 409
    else:
        raise AssertionError("scan of a never-started session succeeded")


def test_session_list_shape(sim, api, receiver):
    api.post("start-session", {"webhook": receiver.url})
    sim.wait_for_status("demo", "QRCODE")

    [entry] = sim.sessions()

    assert set(entry) >= {
        "name",
        "status",
        "connected",
        "phone",
        "pairing_code",
        "qr_version",
        "leaked",
        "webhook",
        "logged_in",
    }
    assert entry["webhook"] == receiver.url
    assert entry["connected"] is False


def test_reset_forgets_sessions_faults_and_ledger(sim, api):
    api.connect()
    api.send("5521999999999")
    sim.set_fault("status-session", error_rate=1.0)

    sim.reset()

    assert sim.sessions() == []
    assert sim.ledger() == []
    assert api.status() == {"status": "CLOSED", "qrcode": None}
    assert requests.get(f"{sim.url}/_sim/faults", timeout=5).json() == {"faults": {}}


def test_cors_preflight_is_answered(sim):
    response = requests.options(f"{sim.url}/api/demo/send-message", timeout=5)

    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_the_cli_runs_in_the_foreground_and_stops_on_sigterm():
    env = {k: v for k, v in os.environ.items() if k != "WPPCONNECT_SECRET_KEY"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "whatsapp.simulator", "--port", "0", "--secret-key", "s3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = proc.stdout.readline()
        assert "/_sim/" in line
        url = line.split("listening on ")[1].split(" ")[0]
        assert requests.get(f"{url}/healthz", timeout=5).status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_calls_are_counted_per_session_and_route(sim, api):
    api.status()
    api.status()
    api.post("start-session", {})
    assert sim.calls("demo") == {"status-session": 2, "start-session": 1}
    assert sim.calls("other") == {}
