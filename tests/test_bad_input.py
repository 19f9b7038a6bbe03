"""No input stops the machine: every odd value is a 4xx naming the field, never a 500, never lost.

`text`, `instance`, `send_after`, `expires_at`, `priority` and `idempotency_key` are checked by
the one validator every entry point uses (whatsapp/services/message_requests.py); the webhook
receiver and the dashboard's test-message endpoint decode their bodies defensively.
"""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from django.utils import translation

from tests.messages.conftest import phone
from whatsapp import api
from whatsapp.models import GatewayEvent, OutboundMessage
from whatsapp.services import outbox

pytestmark = pytest.mark.django_db

HUGE = 10**5000 - 1  # 5,000 digits, made without int() of a string


def case_id(value: object) -> str:
    if isinstance(value, dict):
        key, item = next(iter(value.items()))
        if isinstance(item, int) and abs(item) > 10**20:
            return f"{key}=<huge int>"
        return f"{key}={str(item)[:20]!r}"
    return str(value)[:20]


@pytest.fixture
def instance(make_instance):
    return make_instance("main")


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.mark.parametrize(
    ("kwargs", "field", "reason"),
    [
        ({"text": "nul \x00 inside"}, "text", "NUL"),
        ({"text": "broken \ud83d emoji"}, "text", "surrogate"),
        ({"instance": "ma\x00in"}, "instance", "slug"),
        ({"instance": "\udc00"}, "instance", "slug"),
        ({"instance": "x" * 10_000}, "instance", "slug"),
        ({"send_after": "2030-01-01T10:00:00+20:00"}, "send_after", "18:00"),
        ({"expires_at": "2030-01-01T10:00:00-19:30"}, "expires_at", "18:00"),
        ({"send_after": "9999-12-31T23:59:59-05:00"}, "send_after", "ten years"),
        ({"send_after": "0001-01-01T00:00:00+05:00"}, "send_after", "2000"),
        ({"send_after": "2030-01-01T10:00:00\x00"}, "send_after", "ISO 8601"),
        ({"send_after": "2" * 100_000}, "send_after", "ISO 8601"),
        ({"priority": HUGE}, "priority", "high"),
        ({"priority": "9" * 5000}, "priority", "high"),
        ({"priority": -(10**400)}, "priority", "high"),
        ({"idempotency_key": "k\x00"}, "idempotency_key", "printable"),
        ({"idempotency_key": "k\ud800"}, "idempotency_key", "printable"),
    ],
    ids=case_id,
)
def test_odd_values_name_the_field_and_the_reason_and_write_nothing(
    instance, kwargs, field, reason
):
    args = {"to": phone(1), "text": "hi", **kwargs}
    with pytest.raises(outbox.MessageValidationError) as caught:
        api.send_text(args.pop("to"), args.pop("text"), **args)
    errors = caught.value.errors
    assert field in errors, errors
    assert reason.lower() in errors[field][0].lower(), errors[field]
    assert "4300" not in str(errors) and "integer string" not in str(errors)
    assert not OutboundMessage.objects.exists()


def test_emoji_and_right_to_left_text_are_queued_as_given(instance):
    text = "Olá 👋🏽 — مرحبا بالعالم — שלום"
    message = api.send_text(phone(1), text, send_after="2030-01-01T10:00:00+14:00")
    assert OutboundMessage.objects.get(pk=message.pk).body == text


def send_test(client, body: bytes | str, content_type: str = "application/json"):
    return client.post(reverse("dashboard-send-test-default"), data=body, content_type=content_type)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (json.dumps({"phone": phone(1), "message": "nul\x00"}), "message"),
        (f'{{"phone": "{phone(1)}", "message": "lone \\ud800"}}', "message"),
        (json.dumps({"phone": "55\x0021", "message": "hi"}), "phone"),
        ('{"phone": ' + "9" * 5000 + ', "message": "hi"}', "phone"),
        (f'{{"phone": "{phone(1)}", "message": ' + "9" * 5000 + "}", "message"),
    ],
)
def test_the_test_message_form_answers_422_with_the_field(operator_client, instance, body, field):
    response = send_test(operator_client, body)
    assert response.status_code == 422, response.content
    assert field in response.json()["errors"]
    assert not OutboundMessage.objects.exists()


def test_the_test_message_form_as_a_form_post_with_a_nul(operator_client, instance):
    response = operator_client.post(
        reverse("dashboard-send-test-default"), {"phone": phone(1), "message": "a\x00b"}
    )
    assert response.status_code == 422 and "message" in response.json()["errors"]


@pytest.mark.parametrize(
    "body",
    [
        "[" * 1000 + "]" * 1000,
        '{"a":' * 1000 + "1" + "}" * 1000,
        b'{"message": "\xff\xfe"}',
    ],
    ids=["deep list", "deep object", "not utf-8"],
)
def test_the_test_message_form_answers_400_json_for_a_bad_body(operator_client, instance, body):
    response = send_test(operator_client, body)
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request" and response.json()["message"]


def webhook(client, instance, body: bytes | str, **extra):
    url = reverse("whatsapp-webhook", args=[instance.slug, instance.webhook_secret])
    return client.post(url, data=body, content_type="application/json", **extra)


@pytest.mark.parametrize(
    ("raw", "expected_body"),
    [
        ('{"event": "onmessage", "id": "a", "body": "x\\u0000y"}', "x\ufffdy"),
        ('{"event": "onmessage", "id": "a", "body": "lone \\ud800"}', "lone \ufffd"),
        ('{"event": "onmessage", "id": "a", "body": "ok", "t": 1e400}', "ok"),
        ('{"event": "onmessage", "id": "a", "body": "ok", "t": ' + "1" * 5000 + "}", "ok"),
        ('{"event": "onmessage", "id": "a", "body": "ok", "k\\u0000": 1}', "ok"),
    ],
    ids=["nul", "surrogate", "inf", "5000 digits", "nul key"],
)
def test_a_webhook_with_unstorable_values_is_stored_cleaned(
    client, instance, rung, raw, expected_body
):
    response = webhook(client, instance, raw)
    assert response.status_code == 200, response.content
    event = GatewayEvent.objects.get()
    assert event.payload["body"] == expected_body
    assert "\x00" not in json.dumps(event.payload)


@pytest.mark.parametrize(
    "raw",
    ["[" * 1000 + "]" * 1000, '{"event": "x", "a":' * 100 + "1" + "}" * 100, "{not json", b"\xff"],
    ids=["deep list", "deep object", "broken", "not utf-8"],
)
def test_a_webhook_with_a_bad_body_answers_400_json(client, instance, raw):
    response = webhook(client, instance, raw)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["ok"] is False
    assert not GatewayEvent.objects.exists()


def test_a_webhook_body_over_the_limit_gets_the_receivers_own_413(client, instance):
    from whatsapp.views.webhooks import MAX_BODY

    big = json.dumps({"event": "onmessage", "body": "x" * (MAX_BODY + 10)})
    response = webhook(client, instance, big)
    assert response.status_code == 413
    assert response.json() == {"ok": False, "error": "body too large"}


def test_a_webhook_body_above_djangos_upload_limit_but_below_ours_is_stored(
    client, instance, rung, settings
):
    body = json.dumps({"event": "qrcode", "qrcode": "A" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE)})
    response = webhook(client, instance, body)
    assert response.status_code == 200, response.content[:200]
    assert GatewayEvent.objects.count() == 1
