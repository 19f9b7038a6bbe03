"""REST: /api/v1/webhooks — create (the secret once), list, read, delete, test; bad input named,
nothing changed; keys limited to instances manage only their instances' endpoints."""

from __future__ import annotations

import json

import pytest

from whatsapp.models import ApiKey, AuditEntry, WebhookDelivery, WebhookEndpoint
from whatsapp.models.audit import AuditAction

pytestmark = pytest.mark.django_db
URL = "/api/v1/webhooks"


@pytest.fixture
def key(db):
    _row, key = ApiKey.create("hooks", scopes=["webhooks"])
    return key


@pytest.fixture
def api(client, key):
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return client


def post(api, body, path=URL):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return api.post(path, data=data, content_type="application/json")


def test_an_endpoint_is_created_with_its_secret_shown_once(api, make_instance):
    make_instance("main")
    answer = post(
        api,
        {
            "url": "https://app.example.com/hook",
            "events": ["message.status", "session.status"],
            "instance": "main",
            "description": "billing 🧾",
        },
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["secret"].startswith("whsec_")
    assert body["events"] == ["message.status", "session.status"]
    assert body["instance"] == "main" and body["enabled"] is True
    row = WebhookEndpoint.objects.get()
    assert row.secret == body["secret"] and body["secret"] not in row.secret_encrypted
    entry = AuditEntry.objects.get(action=AuditAction.WEBHOOK_CREATE)
    assert entry.actor == "api:hooks" and body["secret"] not in json.dumps(entry.changes)
    listed = api.get(URL).json()["results"]
    assert [e["id"] for e in listed] == [body["id"]]
    detail = api.get(f"{URL}/{body['id']}")
    assert detail.status_code == 200 and detail.json()["deliveries"] == []
    for text in (json.dumps(listed), detail.content.decode()):
        assert body["secret"] not in text and "secret" not in json.loads(text.strip() or "{}")


def test_no_events_means_every_event(api):
    answer = post(api, {"url": "http://app.example.com/hook"})
    assert answer.status_code == 201
    assert answer.json()["events"] is None and answer.json()["instance"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://app.example.com/hook"}, "url"),
        ({"url": "file:///etc/passwd"}, "url"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "https://user:pw@app.example.com/"}, "url"),
        ({"url": ""}, "url"),
        ({"url": "https://app.example.com/\u0000"}, "url"),
        ({"url": "https://app.example.com/\ud800"}, "url"),
        ({"url": "https://app.example.com/" + "a" * 5000}, "url"),
        ({"url": 42}, "url"),
        ({}, "url"),
        ({"url": "https://a.example/", "events": ["message.sent"]}, "events"),
        ({"url": "https://a.example/", "events": "message.status"}, "events"),
        ({"url": "https://a.example/", "events": [1]}, "events"),
        ({"url": "https://a.example/", "events": ["\u0000"]}, "events"),
        ({"url": "https://a.example/", "instance": "nowhere"}, "instance"),
        ({"url": "https://a.example/", "instance": "\ud800"}, "instance"),
        ({"url": "https://a.example/", "instance": "x" * 10_000}, "instance"),
        ({"url": "https://a.example/", "description": "\u0000"}, "description"),
        ({"url": "https://a.example/", "description": "d" * 201}, "description"),
        ({"url": "https://a.example/", "colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_changes(api, make_instance, body, field):
    make_instance("main")
    answer = post(api, body)
    assert answer.status_code == 400, answer.content
    error = answer.json()
    assert field in error["errors"] and error["errors"][field][0]
    assert not WebhookEndpoint.objects.exists()
    assert not AuditEntry.objects.exists()


def test_every_bad_field_is_named_at_once(api):
    answer = post(api, {"url": "ftp://x", "events": ["nope"], "instance": "nowhere"})
    assert set(answer.json()["errors"]) == {"url", "events", "instance"}


def test_a_body_that_is_not_json_is_a_400(api):
    assert post(api, b"{not json").status_code == 400
    assert post(api, "[]").status_code == 400


@pytest.mark.parametrize("bad_id", ["nope", "123", "00000000-0000-0000-0000-000000000000", "%00"])
def test_a_bad_endpoint_id_is_a_404_and_changes_nothing(api, bad_id):
    created = post(api, {"url": "https://a.example/"}).json()
    for answer in (
        api.get(f"{URL}/{bad_id}"),
        api.delete(f"{URL}/{bad_id}"),
        post(api, {}, f"{URL}/{bad_id}/test"),
    ):
        assert answer.status_code == 404
        assert answer.json()["code"] == "not_found"
    assert WebhookEndpoint.objects.get().pk.hex == created["id"].replace("-", "")


def test_delete_removes_the_endpoint_and_audits_it(api):
    created = post(api, {"url": "https://a.example/"}).json()
    assert api.delete(f"{URL}/{created['id']}").status_code == 204
    assert not WebhookEndpoint.objects.exists()
    assert AuditEntry.objects.filter(action=AuditAction.WEBHOOK_DELETE).count() == 1
    assert api.delete(f"{URL}/{created['id']}").status_code == 404


def test_a_test_event_is_queued_for_that_endpoint_only(api, rung):
    created = post(api, {"url": "https://a.example/", "events": ["message.status"]}).json()
    post(api, {"url": "https://b.example/"})
    answer = post(api, {}, f"{URL}/{created['id']}/test")
    assert answer.status_code == 202, answer.content
    delivery = WebhookDelivery.objects.get()
    assert str(delivery.endpoint_id) == created["id"] and delivery.event_type == "webhook.test"
    assert json.loads(delivery.body)["type"] == "webhook.test"
    assert answer.json()["delivery"]["event_id"] == delivery.event_id


def test_a_test_of_a_disabled_endpoint_is_refused(api):
    from whatsapp import audit
    from whatsapp.services import webhook_endpoints

    created = post(api, {"url": "https://a.example/"}).json()
    row = WebhookEndpoint.objects.get()
    webhook_endpoints.set_enabled(audit.PYTHON, row, False)
    answer = post(api, {}, f"{URL}/{created['id']}/test")
    assert answer.status_code == 409 and answer.json()["code"] == "disabled"
    assert not WebhookDelivery.objects.exists()


def test_a_key_without_the_webhooks_scope_is_refused(client, db):
    _row, key = ApiKey.create("sender", scopes=["send", "read"])
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    assert client.get(URL).status_code == 403
    assert post(client, {"url": "https://a.example/"}).status_code == 403
    assert not WebhookEndpoint.objects.exists()


def test_a_key_limited_to_instances_manages_only_their_endpoints(client, make_instance):
    main = make_instance("main")
    make_instance("other", default=False)
    _row, key = ApiKey.create("limited", scopes=["webhooks"], instances=[main])
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    everywhere = post(client, {"url": "https://a.example/"})
    assert everywhere.status_code == 400 and "instance" in everywhere.json()["errors"]
    other = post(client, {"url": "https://a.example/", "instance": "other"})
    assert other.status_code == 400 and "instance" in other.json()["errors"]
    mine = post(client, {"url": "https://a.example/", "instance": "main"})
    assert mine.status_code == 201
    # Endpoints made by others, of other instances or of all, stay out of its sight.
    from whatsapp import audit
    from whatsapp.services import webhook_endpoints

    theirs, _ = webhook_endpoints.create(audit.PYTHON, url="https://b.example/", instance="other")
    global_, _ = webhook_endpoints.create(audit.PYTHON, url="https://c.example/")
    assert [e["id"] for e in client.get(URL).json()["results"]] == [mine.json()["id"]]
    for hidden in (theirs, global_):
        assert client.get(f"{URL}/{hidden.pk}").status_code == 404
        assert client.delete(f"{URL}/{hidden.pk}").status_code == 404
    assert WebhookEndpoint.objects.count() == 3


def test_the_openapi_document_describes_the_routes_and_every_event(client, db):
    spec = client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/webhooks", "/api/v1/webhooks/{id}", "/api/v1/webhooks/{id}/test"} <= set(
        spec["paths"]
    )
    assert spec["paths"]["/api/v1/webhooks"]["post"]["x-scope"] == "webhooks"
    assert set(spec["webhooks"]) == {
        "MessageStatus",
        "MessageReceived",
        "SessionStatus",
        "WebhookTest",
    }
    event = spec["components"]["schemas"]["MessageStatusEvent"]
    assert event["properties"]["type"] == {"const": "message.status"}
    assert event["properties"]["data"] == {"$ref": "#/components/schemas/MessageDetail"}
