"""Instances and sessions over the REST API: the dashboard's rules, operations run directly."""

from __future__ import annotations

import io
import json

import pytest
import zxingcpp
from PIL import Image

from whatsapp import doorbell
from whatsapp.models import SessionOperation
from whatsapp.services import operations
from whatsapp.services.gateway import client_for, webhook_url

pytestmark = pytest.mark.django_db
JSON = "application/json"


@pytest.fixture(autouse=True)
def no_broker(rung):
    return rung


def start(api_client, slug="main", **body):
    data = json.dumps(body) if body else None
    return api_client.post(f"/api/v1/instances/{slug}/start", data=data, content_type=JSON)


def test_start_answers_202_and_its_operation_ends_with_a_qr(api_client, make_instance, no_broker):
    make_instance("main")
    response = start(api_client)
    assert response.status_code == 202, response.content
    body = response.json()
    operation = body["operation"]
    assert body["created"] is True and operation["kind"] == "start"
    assert operation["status"] == "pending" and operation["url"] == (
        f"/api/v1/operations/{operation['id']}"
    )
    assert no_broker.args_of(doorbell.RUN_OPERATION) == [operation["id"]]
    operations.run(operation["id"])  # what the worker does with the ring
    polled = api_client.get(operation["url"]).json()
    assert polled["status"] == "succeeded" and polled["result"]["qrcode"].startswith("data:image")


def test_a_second_start_returns_the_same_operation(api_client, make_instance):
    make_instance("main")
    first = start(api_client).json()
    second = start(api_client)
    assert second.status_code == 202
    assert second.json()["created"] is False
    assert second.json()["operation"]["id"] == first["operation"]["id"]
    assert SessionOperation.objects.count() == 1


def test_qr_png_is_the_simulators_qr_and_404_without_one(api_client, make_instance, sim):
    instance = make_instance("main")
    missing = api_client.get("/api/v1/instances/main/qr.png")
    assert missing.status_code == 404 and missing.json()["code"] == "no_qrcode"
    operation = start(api_client).json()["operation"]
    operations.run(operation["id"])
    state = api_client.get("/api/v1/instances/main").json()
    assert state["status"] == "QRCODE" and state["qr_png_url"] == "/api/v1/instances/main/qr.png"
    png = api_client.get(state["qr_png_url"])
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    (decoded,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    assert decoded.text == sim.session(instance.session_name)["urlcode"]


def test_logout_and_close_follow_the_dashboards_rules(api_client, make_instance, sim):
    instance = make_instance("main")
    client_for(instance).start_session(webhook=webhook_url(instance))
    sim.wait_for_status(instance.session_name, "QRCODE")
    close = api_client.post("/api/v1/instances/main/close")
    assert close.status_code == 202
    operations.run(close.json()["operation"]["id"])
    refused = api_client.get(close.json()["operation"]["url"]).json()
    assert refused["status"] == "failed" and refused["code"] == "close_while_starting"
    logout = api_client.post("/api/v1/instances/main/logout")
    operations.run(logout.json()["operation"]["id"])
    assert api_client.get(logout.json()["operation"]["url"]).json()["code"] == "not_connected"
    sim.scan(instance.session_name)
    sim.wait_for_status(instance.session_name, "CONNECTED")
    again = api_client.post("/api/v1/instances/main/logout").json()["operation"]
    operations.run(again["id"])
    assert api_client.get(again["url"]).json()["status"] == "succeeded"


def test_an_unknown_slug_is_a_404(api_client, make_instance):
    make_instance("main")
    for method, path in [
        ("get", "/api/v1/instances/ghost"),
        ("get", "/api/v1/instances/ghost/qr.png"),
        ("post", "/api/v1/instances/ghost/start"),
        ("post", "/api/v1/instances/ghost/close"),
        ("post", "/api/v1/instances/%00/refresh"),
    ]:
        response = getattr(api_client, method)(path)
        assert response.status_code == 404, path
        assert response.json()["code"] == "instance_not_found"
    assert api_client.get("/api/v1/operations/424242").status_code == 404


def test_a_bad_phone_is_a_400_naming_the_field(api_client, make_instance):
    make_instance("main")
    response = start(api_client, phone="12")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and response.json()["errors"]["phone"]
    unknown = start(api_client, telefone="+5521999990001")
    assert unknown.status_code == 400 and "telefone" in unknown.json()["errors"]
    assert not SessionOperation.objects.exists()


def test_a_pairing_phone_is_stored_normalised(api_client, make_instance):
    make_instance("main")
    start(api_client, phone="+55 21 99999-0001")
    assert SessionOperation.objects.get().phone == "5521999990001"


def test_disabled_and_unconfigured_instances_are_refused_with_409(api_client, make_instance):
    make_instance("off", enabled=False)
    bare = make_instance("bare", default=False)
    type(bare).objects.filter(pk=bare.pk).update(secret_key_encrypted="")
    assert start(api_client, "off").json()["code"] == "instance_disabled"
    response = start(api_client, "bare")
    assert response.status_code == 409 and response.json()["code"] == "not_configured"


def test_the_list_shows_every_instance_default_first_and_needs_a_key(
    client, api_client, make_instance
):
    make_instance("zeta", default=False)
    make_instance("main")
    results = api_client.get("/api/v1/instances").json()["results"]
    assert [r["instance"] for r in results] == ["main", "zeta"]
    assert results[0]["is_default"] and results[0]["status"] == "CLOSED"
    client.defaults.pop("HTTP_AUTHORIZATION")
    assert client.get("/api/v1/instances").status_code == 401
