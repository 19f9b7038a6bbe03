from __future__ import annotations

import base64
import re
import time

import requests

from .conftest import Api

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_start_session_answers_the_status_from_before_the_call(sim, api):
    sim.settings(init_delay=0.4)

    first = api.post("start-session")
    second = api.post("start-session")
    sim.wait_for_status("demo", "QRCODE")
    third = api.post("start-session")
    sim.scan("demo")
    fourth = api.post("start-session")

    assert first.json() == {"status": "CLOSED", "qrcode": None, "session": ""}
    assert second.json() == {
        "status": "INITIALIZING",
        "qrcode": None,
        "version": "2.10.4",
        "session": "demo",
    }
    assert third.json()["status"] == "QRCODE"
    assert third.json()["qrcode"].startswith("data:image/png;base64,")
    assert third.json()["urlcode"].startswith("2@")
    assert fourth.json()["status"] == "CONNECTED"
    # urlcode is never cleared: a connected session still reports its stale QR.
    assert fourth.json()["qrcode"].startswith("data:image/png;base64,")
    assert api.status()["status"] == "CONNECTED"


def test_the_webhook_given_to_a_running_session_is_ignored(sim, api, receiver):
    api.post("start-session", {"webhook": receiver.url})
    api.post("start-session", {"webhook": "http://127.0.0.1:9/other"})

    assert sim.session("demo")["webhook"] == receiver.url


def test_qr_scan_flow_sends_the_webhooks_in_order(sim, api, receiver):
    api.post("start-session", {"webhook": receiver.url})
    sim.wait_for_status("demo", "QRCODE")
    qr_event = receiver.wait_for("qrcode")

    assert not qr_event["qrcode"].startswith("data:")
    assert base64.b64decode(qr_event["qrcode"]).startswith(PNG_MAGIC)
    assert qr_event["urlcode"] == api.status()["urlcode"]
    assert qr_event["session"] == "demo"
    assert api.get("check-connection-session").json() == {
        "status": False,
        "message": "Disconnected",
    }

    sim.scan("demo", phone="5521988887777")
    receiver.wait_for("status-find", status="inChat")

    assert receiver.names() == [
        "status-find:notLogged",
        "qrcode",
        "status-find:qrReadSuccess",
        "status-find:inChat",
    ]
    assert api.status()["status"] == "CONNECTED"
    assert api.get("check-connection-session").json() == {"status": True, "message": "Connected"}
    assert api.get("get-phone-number").json() == {
        "status": "success",
        "response": "5521988887777@c.us",
        "mapper": "device",
    }


def test_qrcode_session_serves_a_real_png_that_changes_after_the_interval(sim, api, receiver):
    sim.settings(qr_interval=0.3)
    api.post("start-session", {"webhook": receiver.url})
    sim.wait_for_status("demo", "QRCODE")

    first = api.get("qrcode-session")
    first_urlcode = api.status()["urlcode"]
    time.sleep(0.45)
    second = api.get("qrcode-session")

    assert first.status_code == 200
    assert first.headers["Content-Type"] == "image/png"
    assert first.content.startswith(PNG_MAGIC)
    assert second.content.startswith(PNG_MAGIC)
    assert second.content != first.content
    assert api.status()["urlcode"] != first_urlcode
    assert sim.session("demo")["qr_version"] >= 2
    assert len([e for e in receiver.events if e["event"] == "qrcode"]) >= 2


def test_qrcode_session_json_answers_without_a_qr(sim, api):
    sim.settings(init_delay=5)

    never = api.get("qrcode-session").json()
    api.post("start-session")
    starting = api.get("qrcode-session").json()

    assert never == {
        "status": None,
        "message": "Session not started. Please, use the /start-session route, "
        "for initialization your session",
    }
    assert starting == {"status": "INITIALIZING", "message": "QRCode is not available..."}


def test_pairing_code_flow(sim, api, receiver):
    api.post("start-session", {"webhook": receiver.url, "phone": "5521977776666"})
    sim.wait_for_status("demo", "PHONECODE")
    event = receiver.wait_for("phoneCode")

    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", event["phoneCode"])
    assert event["phone"] == "5521977776666"
    assert sim.session("demo")["pairing_code"] == event["phoneCode"]
    assert api.status()["status"] == "PHONECODE"

    sim.scan("demo")

    assert api.status()["status"] == "CONNECTED"
    assert api.get("get-phone-number").json()["response"] == "5521977776666@c.us"


def test_wait_qr_code_holds_until_the_first_qr(sim, api):
    sim.settings(init_delay=0.2)

    response = api.post("start-session", {"waitQrCode": True})

    body = response.json()
    assert body["status"] == "qrcode"
    assert body["session"] == "demo"
    assert base64.b64decode(body["qrcode"]).startswith(PNG_MAGIC)
    assert body["urlcode"].startswith("2@")


def test_wait_qr_code_with_a_phone_answers_the_pairing_code(sim):
    api = Api(sim, "paired")

    body = api.post("start-session", {"waitQrCode": True, "phone": "5521955554444"}).json()

    assert body["status"] == "phoneCode"
    assert body["phone"] == "5521955554444"
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", body["phoneCode"])


def test_auto_close_closes_with_browser_close_and_keeps_the_stale_qr(sim, api, receiver):
    sim.settings(auto_close=0.3)
    api.post("start-session", {"webhook": receiver.url})
    sim.wait_for_status("demo", "QRCODE")

    sim.wait_for_status("demo", "CLOSED", timeout=3)
    receiver.wait_for("status-find", status="browserClose")

    status = api.status()
    assert status["status"] == "CLOSED"
    assert status["qrcode"].startswith("data:image/png;base64,")
    assert "status-find:autocloseCalled" not in receiver.names()
    restarted = api.post("start-session").json()
    assert restarted["status"] == "CLOSED"
    sim.wait_for_status("demo", "QRCODE")


def test_close_session_on_a_never_started_session_is_a_500(sim, api):
    response = api.post("close-session")

    assert response.status_code == 500
    assert response.json() == {
        "status": False,
        "message": "Error closing session",
        "error": {"level": "error"},
        "session": "",
    }


def test_close_session_while_starting_is_a_500_and_leaks_the_browser(sim, api):
    api.post("start-session")
    sim.wait_for_status("demo", "QRCODE")

    response = api.post("close-session")

    assert response.status_code == 500
    assert response.json()["message"] == "Error closing session"
    assert api.status() == {"status": "CLOSED", "qrcode": None}
    assert sim.session("demo")["leaked"] is True
    assert api.post("close-session").status_code == 200
    api.post("start-session")
    time.sleep(0.3)
    assert api.status()["status"] == "INITIALIZING"

    sim.reset()

    assert sim.sessions() == []


def test_close_session_when_connected_keeps_the_login(sim, api, receiver):
    api.connect(webhook=receiver.url)

    response = api.post("close-session")

    assert response.status_code == 200
    # The hook read the session object at auth time, before the close replaced it.
    assert response.json() == {
        "status": True,
        "message": "Session successfully closed",
        "session": "demo",
    }
    closed = receiver.wait_for("closesession")
    assert closed["message"] == "Session: demo disconnected"
    assert closed["connected"] is False
    receiver.wait_for("status-find", status="browserClose")
    assert api.status() == {"status": "CLOSED", "qrcode": None}
    assert api.get("qrcode-session").json() == {
        "status": None,
        "message": "QRCode is not available...",
    }

    receiver.events.clear()
    api.post("start-session", {"webhook": receiver.url})
    sim.wait_for_status("demo", "CONNECTED")
    receiver.wait_for("status-find", status="inChat")  # posted a moment after the status moves

    assert receiver.names() == ["status-find:isLogged", "status-find:inChat"]
    assert sim.session("demo")["qr_version"] == 0


def test_logout_needs_a_connected_session(sim, api):
    response = api.post("logout-session")

    assert response.status_code == 404
    assert response.json() == {
        "response": None,
        "status": "Disconnected",
        "message": "A sessão do WhatsApp não está ativa.",
        "session": "",
    }


def test_logout_forgets_the_login(sim, api, receiver):
    api.connect(webhook=receiver.url)

    started = time.monotonic()
    response = api.post("logout-session")

    assert time.monotonic() - started >= 0.4
    assert response.status_code == 200
    assert response.json()["message"] == "Session successfully closed"
    event = receiver.wait_for("logoutsession")
    assert event["message"] == "Session: demo logged out"
    assert event["connected"] is False
    assert api.status() == {"status": "CLOSED", "qrcode": None}
    assert sim.session("demo")["logged_in"] is False
    api.post("start-session")
    sim.wait_for_status("demo", "QRCODE")


def test_unlink_from_the_phone_drops_the_session(sim, api, receiver):
    api.connect(webhook=receiver.url)

    sim.unlink("demo")

    receiver.wait_for("status-find", status="disconnectedMobile")
    assert api.status() == {"status": "CLOSED", "qrcode": None}
    assert api.get("check-connection-session").json()["status"] is False
    api.post("start-session")
    sim.wait_for_status("demo", "QRCODE")


def test_stay_initializing_fault_keeps_new_starts_stuck(sim, api):
    sim.set_fault("start-session", stay_initializing=True)

    api.post("start-session")
    time.sleep(0.3)

    assert api.status()["status"] == "INITIALIZING"
    assert api.post("send-message", {"phone": "5521999999999", "message": "x"}).status_code == 404


def test_device_routes_report_the_linked_phone(sim, api):
    api.connect(phone="5521911112222")

    device = api.get("host-device").json()
    number = api.get("check-number-status/5521933334444").json()
    missing = api.get("check-number-status/5521930000000").json()

    assert device["status"] == "success"
    assert device["mapper"] == "device"
    assert device["response"]["phoneNumber"] == "5521911112222@c.us"
    assert device["response"]["pushname"] == "Simulator"
    assert number["response"]["numberExists"] is True
    assert number["response"]["id"]["_serialized"] == "5521933334444@c.us"
    assert missing["response"]["numberExists"] is False


def test_device_routes_are_gated(sim, api):
    for action in ("host-device", "get-phone-number", "check-number-status/5521999999999"):
        response = api.get(action)
        assert response.status_code == 404
        assert response.json()["status"] == "Disconnected"


def test_start_all_restarts_stored_sessions(sim, api):
    api.connect()
    api.post("close-session")

    response = requests.post(f"{sim.url}/api/{sim.secret_key}/start-all", timeout=5)

    assert response.status_code == 201
    sim.wait_for_status("demo", "CONNECTED")
