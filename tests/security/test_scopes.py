"""API keys see and act only on what their scopes and instances allow; idempotency per key."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from whatsapp import api
from whatsapp.models import ApiKey, Instance, OutboundMessage
from whatsapp.scopes import ALL_SCOPES

pytestmark = pytest.mark.django_db


@pytest.fixture
def instances(rung):
    rows = []
    for slug, default in (("main", True), ("support", False)):
        row = Instance(slug=slug, name=slug, session_name=slug, gateway_url="http://127.0.0.1:9")
        row.is_default = default
        row.secret_key = "secret"
        row.save()
        rows.append(row)
    return rows


def bearer(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def send(client, key, body, **headers):
    return client.post(
        "/api/v1/messages",
        data=json.dumps(body),
        content_type="application/json",
        **bearer(key),
        **headers,
    )


def test_a_key_without_the_scope_gets_403_naming_it(client, instances):
    _row, key = ApiKey.create("reader", scopes=["read"])
    answer = send(client, key, {"to": "+55 21 99999-0001", "text": "hi"})
    assert answer.status_code == 403
    body = answer.json()
    assert body["code"] == "missing_scope" and "“send”" in body["message"]
    assert client.post("/api/v1/instances/main/start", **bearer(key)).status_code == 403
    assert (
        "“sessions”" in client.get("/api/v1/instances/main/qr.png", **bearer(key)).json()["message"]
    )
    assert not OutboundMessage.objects.exists()


def test_a_key_sees_only_its_own_messages_of_its_instances(client, instances):
    _a, key_a = ApiKey.create("a", scopes=["send", "read", "cancel"])
    _b, key_b = ApiKey.create("b", scopes=["send", "read", "cancel"])
    mine = send(client, key_a, {"to": "+55 21 99999-0001", "text": "from a"}).json()
    theirs = send(client, key_b, {"to": "+55 21 99999-0002", "text": "from b"}).json()
    staff = api.send_text("+55 21 99999-0003", "from the dashboard")

    listed = client.get("/api/v1/messages", **bearer(key_a)).json()["results"]
    assert [m["id"] for m in listed] == [mine["id"]]
    assert client.get(f"/api/v1/messages/{theirs['id']}", **bearer(key_a)).status_code == 404
    assert client.get(f"/api/v1/messages/{staff.pk}", **bearer(key_a)).status_code == 404
    cancel = client.post(f"/api/v1/messages/{theirs['id']}/cancel", **bearer(key_a))
    assert cancel.status_code == 404
    assert OutboundMessage.objects.get(pk=theirs["id"]).status == "queued"


def test_read_all_reads_every_message_of_its_instances_only(client, instances):
    main, _support = instances
    ApiKey.create("writer", scopes=["send"])
    api.send_text("+55 21 99999-0001", "on main")
    api.send_text("+55 21 99999-0002", "on support", instance="support")
    _row, key = ApiKey.create("auditor", scopes=["read", "read-all"], instances=[main])
    listed = client.get("/api/v1/messages", **bearer(key)).json()["results"]
    assert [m["text"] for m in listed] == ["on main"]
    filtered = client.get("/api/v1/messages?instance=support", **bearer(key)).json()["results"]
    assert filtered == []


def test_a_key_cannot_send_from_or_act_on_an_instance_it_is_not_given(client, instances):
    main, _support = instances
    _row, key = ApiKey.create("main-only", scopes=ALL_SCOPES, instances=[main])
    refused = send(client, key, {"to": "+55 21 99999-0001", "text": "x", "instance": "support"})
    assert refused.status_code == 403 and refused.json()["code"] == "instance_not_allowed"
    assert client.post("/api/v1/instances/support/close", **bearer(key)).status_code == 403
    assert [
        i["instance"] for i in client.get("/api/v1/instances", **bearer(key)).json()["results"]
    ] == ["main"]
    batch = client.post(
        "/api/v1/messages/batch",
        data=json.dumps(
            {
                "messages": [
                    {"to": "+55 21 99999-0001", "text": "ok"},
                    {"to": "+55 21 99999-0002", "text": "no", "instance": "support"},
                ]
            }
        ),
        content_type="application/json",
        **bearer(key),
    ).json()
    assert [r["ok"] for r in batch["results"]] == [True, False]
    assert batch["results"][1]["code"] == "instance_not_allowed"
    assert OutboundMessage.objects.filter(instance__slug="support").count() == 0


def test_qr_and_pairing_codes_are_only_for_keys_that_manage_sessions(client, instances):
    main, _support = instances
    Instance.objects.filter(pk=main.pk).update(status="PHONECODE", pairing_code="ABCD-EFGH")
    _r, reader = ApiKey.create("reader", scopes=["read"])
    _s, sessions = ApiKey.create("sessions", scopes=["read", "sessions"])
    assert client.get("/api/v1/instances/main", **bearer(reader)).json()["pairing_code"] is None
    assert client.get("/api/v1/instances/main", **bearer(sessions)).json()["pairing_code"] == (
        "ABCD-EFGH"
    )


def test_idempotency_keys_are_per_api_key(client, instances):
    _a, key_a = ApiKey.create("a", scopes=["send", "read"])
    _b, key_b = ApiKey.create("b", scopes=["send", "read"])
    headers = {"HTTP_IDEMPOTENCY_KEY": "order-42"}
    first = send(client, key_a, {"to": "+55 21 99999-0001", "text": "for a"}, **headers)
    # B with A's key and body: a message of its own, not A's back.
    same_body = send(client, key_b, {"to": "+55 21 99999-0001", "text": "for a"}, **headers)
    assert same_body.status_code == 201 and same_body.json()["id"] != first.json()["id"]
    # C with A's key and another body: created, no 422 telling it that A used the key.
    _c, key_c = ApiKey.create("c", scopes=["send"])
    other_text = send(client, key_c, {"to": "+55 21 99999-0002", "text": "c"}, **headers)
    assert other_text.status_code == 201
    again = send(client, key_a, {"to": "+55 21 99999-0001", "text": "for a"}, **headers)
    assert again.json()["id"] == first.json()["id"] and again["Idempotent-Replayed"] == "true"
    batch = client.post(
        "/api/v1/messages/batch",
        data=json.dumps(
            {"messages": [{"to": "+55 21 99999-0001", "text": "for a", "idempotency_key": "k"}]}
        ),
        content_type="application/json",
        **bearer(key_b),
    ).json()
    send(client, key_a, {"to": "+55 21 99999-0001", "text": "for a"}, HTTP_IDEMPOTENCY_KEY="k")
    assert batch["created"] == 1
    assert OutboundMessage.objects.filter(idempotency_key="k").count() == 2


def test_every_route_declares_its_scope_in_the_openapi_document(client, instances):
    document = client.get("/api/v1/openapi.json").json()
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            scopes = operation["security"][0]["ApiKeyAuth"]
            assert len(scopes) == 1 and scopes[0] in ALL_SCOPES, (method, path)
            assert f"`{scopes[0]}` scope" in operation["description"]
            assert {"403", "429"} <= set(operation["responses"]), (method, path)
    send_op = document["paths"]["/api/v1/messages"]["post"]
    assert send_op["security"] == [{"ApiKeyAuth": ["send"]}]


def test_the_command_creates_a_key_for_some_instances_and_scopes(instances, capsys):
    call_command("whatsapp_apikey", "create", "crm", "--instances", "main", "--scopes", "send,read")
    key = ApiKey.objects.get(name="crm")
    assert key.scopes == ["send", "read"] and not key.all_instances
    assert [row.slug for row in key.instances.all()] == ["main"]
    call_command("whatsapp_apikey", "list")
    assert "scopes send,read\tinstances main" in capsys.readouterr().out
    with pytest.raises(Exception, match="unknown scope"):
        call_command("whatsapp_apikey", "create", "bad", "--scopes", "send,everything")
    with pytest.raises(Exception, match="No instance called: nope"):
        call_command("whatsapp_apikey", "create", "bad", "--instances", "nope")
