"""The session endpoints: answer at once, JSON errors, auth and CSRF; the webhook receiver."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from whatsapp import doorbell
from whatsapp.models import GatewayEvent, SessionOperation

pytestmark = pytest.mark.django_db

JSON = "application/json"


@pytest.fixture(autouse=True)
def no_broker(rung):
    """These tests look at what the web side does; publishing is covered by the live tests."""
    return rung


def test_start_answers_202_with_the_operation_and_where_to_poll(operator_client, make_instance):
    make_instance()
    response = operator_client.post("/system/whatsapp/start/", content_type=JSON)
    assert response.status_code == 202
    body = response.json()
    assert body["success"] is True
    operation = body["operation"]
    assert operation["kind"] == "start" and operation["status"] == "pending"
    assert body["status_url"] == operation["url"]
    polled = operator_client.get(body["status_url"]).json()
    # Time passes between the two answers; everything but the running clock is the same.
    polled["operation"].pop("elapsed_seconds")
    operation.pop("elapsed_seconds")
    assert polled == {"success": True, "operation": operation}


def test_a_double_click_returns_the_running_operation(operator_client, make_instance, no_broker):
    make_instance()
    first = operator_client.post("/system/whatsapp/start/").json()
    second = operator_client.post("/system/whatsapp/start/").json()
    assert second["operation"]["id"] == first["operation"]["id"]
    assert second["created"] is False
    assert SessionOperation.objects.count() == 1
    assert len(no_broker) == 1


def test_per_instance_paths_act_on_that_instance(operator_client, make_instance):
    make_instance("main")
    other = make_instance("vendas", default=False)
    body = operator_client.post("/system/whatsapp/instances/vendas/close/").json()
    assert body["operation"]["instance"] == "vendas"
    assert SessionOperation.objects.get().instance == other
    status = operator_client.get("/system/whatsapp/instances/vendas/status/").json()
    assert status["session"]["instance"] == "vendas"


def test_an_unknown_instance_is_a_404_with_a_message(operator_client, make_instance):
    make_instance()
    response = operator_client.get("/system/whatsapp/instances/nope/status/")
    assert response.status_code == 404
    assert response.json()["code"] == "instance_not_found"


def test_a_disabled_instance_is_a_409(operator_client, make_instance):
    make_instance(enabled=False)
    response = operator_client.post("/system/whatsapp/start/")
    assert response.status_code == 409
    assert response.json() == {
        "success": False,
        "code": "instance_disabled",
        "message": response.json()["message"],
    }


def test_a_bad_pairing_phone_is_a_422_naming_the_field(operator_client, make_instance):
    make_instance()
    response = operator_client.post(
        "/system/whatsapp/start/", data=json.dumps({"phone": "12"}), content_type=JSON
    )
    assert response.status_code == 422
    assert "phone" in response.json()["errors"]
    assert SessionOperation.objects.count() == 0


def test_a_pairing_phone_is_stored_as_e164_digits(operator_client, make_instance):
    make_instance()
    operator_client.post(
        "/system/whatsapp/start/", data=json.dumps({"phone": "(21) 99876-5432"}), content_type=JSON
    )
    assert SessionOperation.objects.get().phone == "5521998765432"


def test_bad_json_is_a_400(operator_client, make_instance):
    make_instance()
    response = operator_client.post("/system/whatsapp/start/", data="{", content_type=JSON)
    assert response.status_code == 400 and response.json()["code"] == "bad_request"


def test_status_answers_from_the_database_and_asks_for_one_refresh(
    operator_client, make_instance, no_broker
):
    make_instance()
    bodies = [operator_client.get("/system/whatsapp/status/").json() for _ in range(20)]
    assert all(b["success"] and b["session"]["status"] == "CLOSED" for b in bodies)
    assert len(no_broker) == 1  # twenty pollers, one refresh
    assert bodies[0]["refreshing"] is True and bodies[1]["refreshing"] is False


def test_qrcode_returns_the_stored_code_and_its_expiry(operator_client, make_instance):
    from django.utils import timezone

    make_instance(
        status="QRCODE", qr_code="data:image/png;base64,AA", code_produced_at=timezone.now()
    )
    body = operator_client.get("/system/whatsapp/qrcode/").json()
    assert body["qrcode"] == "data:image/png;base64,AA" and body["expires_at"]


@pytest.mark.parametrize(
    "method,path",
    [
        ("post", "/system/whatsapp/start/"),
        ("post", "/system/whatsapp/logout/"),
        ("post", "/system/whatsapp/close/"),
        ("get", "/system/whatsapp/status/"),
        ("get", "/system/whatsapp/qrcode/"),
        ("get", "/system/whatsapp/operations/1/"),
        ("get", "/system/whatsapp/instances/main/status/"),
    ],
)
def test_without_login_json_gets_401_and_a_browser_gets_the_login_page(
    client, make_instance, method, path
):
    make_instance()
    response = getattr(client, method)(path, HTTP_ACCEPT=JSON)
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
    if method == "get":
        page = client.get(path, HTTP_ACCEPT="text/html,application/xhtml+xml")
        assert page.status_code == 302 and page["Location"].startswith("/accounts/login/")


def test_staff_without_the_permission_gets_403(client, make_instance, django_user_model):
    make_instance()
    user = django_user_model.objects.create_user("visitante", password="x", is_staff=True)
    client.force_login(user)
    assert client.get("/system/whatsapp/status/").status_code == 403
    assert client.post("/system/whatsapp/start/").status_code == 403


def test_a_post_without_csrf_token_is_a_json_403(operator, make_instance):
    make_instance()
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    response = client.post("/system/whatsapp/start/", HTTP_ACCEPT=JSON)
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    assert SessionOperation.objects.count() == 0


def webhook_path(instance, secret=None):
    return f"/whatsapp/webhooks/{instance.slug}/{secret or instance.webhook_secret}/"


def test_a_webhook_with_a_wrong_secret_stores_nothing(client, make_instance):
    instance = make_instance()
    body = json.dumps(
        {"event": "status-find", "session": instance.session_name, "status": "inChat"}
    )
    response = client.post(webhook_path(instance, "wrong"), data=body, content_type=JSON)
    assert response.status_code == 404
    response = client.post("/whatsapp/webhooks/unknown/whatever/", data=body, content_type=JSON)
    assert response.status_code == 404
    assert GatewayEvent.objects.count() == 0


def test_a_webhook_is_stored_and_applied_later(client, make_instance, no_broker):
    instance = make_instance()
    body = {
        "event": "qrcode",
        "session": instance.session_name,
        "qrcode": "iVBORw0K",
        "urlcode": "2@x",
    }
    response = client.post(webhook_path(instance), data=json.dumps(body), content_type=JSON)
    assert response.status_code == 200
    event = GatewayEvent.objects.get()
    assert event.payload == body and event.processed_at is None
    assert no_broker.args_of(doorbell.APPLY_EVENT) == [event.pk]


def test_webhook_only_accepts_post_and_json(client, make_instance):
    instance = make_instance()
    assert client.get(webhook_path(instance)).status_code == 405
    assert client.post(webhook_path(instance), data="nope", content_type=JSON).status_code == 400
    assert client.post(webhook_path(instance), data="[1]", content_type=JSON).status_code == 400
    assert GatewayEvent.objects.count() == 0


def test_events_of_another_session_never_touch_this_instance(client, make_instance):
    instance = make_instance()
    body = {"event": "status-find", "session": "someone-else", "status": "inChat"}
    response = client.post(webhook_path(instance), data=json.dumps(body), content_type=JSON)
    assert response.status_code == 200
    assert GatewayEvent.objects.count() == 0
