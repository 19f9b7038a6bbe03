"""Validation and enqueue through the Python API, the REST API and the command."""

from __future__ import annotations

import json
from datetime import timedelta
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.messages.conftest import phone
from whatsapp import api, doorbell
from whatsapp.models import ApiKey, OutboundMessage
from whatsapp.rest.auth import authenticate
from whatsapp.scopes import ALL_SCOPES
from whatsapp.services import outbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def instance(make_instance):
    return make_instance("main")


@pytest.fixture
def api_client(client, instance):
    _row, key = ApiKey.create("tests", scopes=ALL_SCOPES)
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return client


def post(client, body, **headers):
    return client.post(
        "/api/v1/messages", data=json.dumps(body), content_type="application/json", **headers
    )


def test_send_text_stores_e164_digits_and_rings_the_dispatcher_on_commit(
    instance, django_capture_on_commit_callbacks
):
    with (
        mock.patch("whatsapp.doorbell._send") as send,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        message = api.send_text("(21) 99999-0001", "Olá", priority="high")
        assert not send.called  # nothing is published before the commit
    assert message.recipient == "5521999990001"
    assert message.status == "queued"
    assert message.priority == 0
    assert message.enqueued_by == "python"
    assert len(callbacks) == 1
    send.assert_called_once_with("whatsapp.messages.dispatch", (instance.pk,), None, None)
    assert api.get(message.id) == message


def test_a_broker_failure_neither_loses_the_row_nor_raises(
    instance, django_capture_on_commit_callbacks
):
    with (
        mock.patch("whatsapp.doorbell._send", side_effect=OSError("broker down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        message = api.send_text(phone(1), "still kept")
    assert OutboundMessage.objects.filter(pk=message.pk, status="queued").exists()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"to": "12345"}, "to"),
        ({"to": ""}, "to"),
        ({"text": "   "}, "text"),
        ({"text": "x" * 4097}, "text"),
        ({"instance": "nope"}, "instance"),
        ({"send_after": "tomorrow"}, "send_after"),
        ({"expires_at": "2020-13-45"}, "expires_at"),
        ({"expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"priority": "urgent"}, "priority"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(instance, kwargs, field):
    args = {"to": phone(1), "text": "hi", **kwargs}
    with pytest.raises(outbox.MessageValidationError) as caught:
        api.send_text(args.pop("to"), args.pop("text"), **args)
    assert field in caught.value.errors and caught.value.errors[field][0]
    assert not OutboundMessage.objects.exists()


def test_a_disabled_instance_is_refused(make_instance):
    make_instance("off", enabled=False)
    with pytest.raises(outbox.MessageValidationError) as caught:
        api.send_text(phone(1), "hi", instance="off")
    assert "off" in caught.value.errors["instance"][0]


def test_same_key_same_payload_returns_the_first_message_and_another_payload_conflicts(instance):
    first = api.send_text(phone(1), "hi", idempotency_key="k1")
    assert api.send_text(phone(1), "hi", idempotency_key="k1") == first
    with pytest.raises(outbox.IdempotencyConflict):
        api.send_text(phone(1), "other", idempotency_key="k1")
    assert OutboundMessage.objects.count() == 1


def test_rest_post_creates_and_replays_with_the_header(api_client):
    body = {"to": "+55 21 99999-0001", "text": "hello", "priority": "low"}
    first = post(api_client, body, HTTP_IDEMPOTENCY_KEY="abc")
    assert first.status_code == 201, first.content
    data = first.json()
    assert data["to"] == "5521999990001" and data["priority"] == "low"
    assert data["idempotency_key"] == "abc" and data["status"] == "queued"
    assert set(data) == {
        "id", "instance", "to", "text", "status", "priority", "attempts", "send_after",
        "expires_at", "gateway_message_id", "ack", "sent_at", "delivered_at", "read_at",
        "failed_at", "last_error", "created_at", "updated_at", "idempotency_key",
    }  # fmt: skip
    again = post(api_client, body, HTTP_IDEMPOTENCY_KEY="abc")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == data["id"]
    other = post(api_client, {**body, "text": "changed"}, HTTP_IDEMPOTENCY_KEY="abc")
    assert other.status_code == 422 and other.json()["code"] == "idempotency_conflict"
    assert OutboundMessage.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"to": "abc", "text": "hi"}, "to"),
        ({"to": phone(1), "text": ""}, "text"),
        ({"to": phone(1), "text": 42}, "text"),
        ({"to": phone(1), "text": "x" * 5000}, "text"),
        ({"to": phone(1), "text": "hi", "instance": "ghost"}, "instance"),
        ({"to": phone(1), "text": "hi", "send_after": "not-a-time"}, "send_after"),
        ({"to": phone(1), "text": "hi", "expires_at": 12}, "expires_at"),
        ({"to": ["x"], "text": "hi"}, "to"),
    ],
)
def test_rest_bad_input_answers_400_with_the_field_and_no_row(api_client, body, field):
    response = post(api_client, body)
    assert response.status_code == 400, response.content
    data = response.json()
    assert data["success"] is False and data["code"] == "invalid"
    assert data["errors"][field][0]
    assert not OutboundMessage.objects.exists()


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"text"'])
def test_rest_malformed_bodies_answer_400(api_client, raw):
    response = api_client.post("/api/v1/messages", data=raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


def test_rest_needs_a_valid_unrevoked_key_and_records_its_use(client, instance):
    assert client.get("/api/v1/messages").status_code == 401
    wrong = client.get("/api/v1/messages", HTTP_AUTHORIZATION="Bearer lw_wrong")
    assert wrong.status_code == 401 and wrong.json()["code"] == "not_authenticated"
    row, key = ApiKey.create("app")
    assert client.get("/api/v1/messages", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    row.refresh_from_db()
    assert row.last_used_at is not None
    ApiKey.objects.filter(pk=row.pk).update(revoked_at=timezone.now())
    assert client.get("/api/v1/messages", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401


def test_a_key_used_again_within_a_minute_costs_one_query_not_a_second_write(
    client, instance, django_assert_num_queries
):
    row, key = ApiKey.create("app")
    a_second_ago = timezone.now() - timedelta(seconds=1)
    ApiKey.objects.filter(pk=row.pk).update(last_used_at=a_second_ago)
    request = mock.Mock(headers={"Authorization": f"Bearer {key}"})
    with django_assert_num_queries(1):
        assert authenticate(request) == row
    row.refresh_from_db()
    assert row.last_used_at == a_second_ago
    ApiKey.objects.filter(pk=row.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    with django_assert_num_queries(2):
        assert authenticate(request) == row
    row.refresh_from_db()
    assert row.last_used_at > timezone.now() - timedelta(seconds=30)


def test_rest_list_filters_and_paginates_with_a_cursor(api_client, make_instance, instance):
    make_instance("other", default=False)
    for n in range(5):
        api.send_text(phone(n), f"m{n}")
    api.send_text(phone(9), "elsewhere", instance="other")
    page = api_client.get("/api/v1/messages?limit=2&instance=main").json()
    assert len(page["results"]) == 2 and page["next_cursor"]
    seen = [m["text"] for m in page["results"]]
    while page["next_cursor"]:
        page = api_client.get(
            f"/api/v1/messages?limit=2&instance=main&cursor={page['next_cursor']}"
        ).json()
        seen += [m["text"] for m in page["results"]]
    assert seen == ["m4", "m3", "m2", "m1", "m0"]
    one = api_client.get(f"/api/v1/messages?recipient=%2B{phone(3)}").json()["results"]
    assert [m["text"] for m in one] == ["m3"]
    assert api_client.get("/api/v1/messages?status=sent").json()["results"] == []
    future = (timezone.now() + timedelta(hours=1)).isoformat().replace("+", "%2B")
    assert len(api_client.get(f"/api/v1/messages?created_before={future}").json()["results"]) == 6
    for bad in ("status=nope", "created_after=yesterday", "limit=0", "cursor=zzz", "recipient=1"):
        response = api_client.get(f"/api/v1/messages?{bad}")
        assert response.status_code == 400, bad
        assert response.json()["errors"]


def test_rest_detail_shows_attempts_and_cancel_follows_the_rules(api_client, instance):
    message = api.send_text(phone(1), "hi")
    detail = api_client.get(f"/api/v1/messages/{message.id}")
    assert detail.status_code == 200 and detail.json()["attempt_log"] == []
    missing = api_client.get("/api/v1/messages/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    cancelled = api_client.post(f"/api/v1/messages/{message.id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = api_client.post(f"/api/v1/messages/{message.id}/cancel")
    assert again.status_code == 409 and again.json()["code"] == "not_cancellable"


def test_requeue_puts_a_failed_message_back_with_fresh_attempts(instance):
    message = api.send_text(phone(1), "hi")
    OutboundMessage.objects.filter(pk=message.pk).update(
        status="failed", attempts=8, last_error="boom"
    )
    requeued = outbox.requeue_message(message.pk)
    assert (requeued.status, requeued.attempts, requeued.last_error) == ("queued", 0, "")
    with pytest.raises(outbox.InvalidTransition):
        outbox.requeue_message(message.pk)


def test_openapi_document_and_docs_page_are_served_locally(client):
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    assert {"/api/v1/messages", "/api/v1/messages/{id}", "/api/v1/messages/{id}/cancel"} <= set(
        spec["paths"]
    )
    page = client.get("/api/v1/docs")
    html = page.content.decode()
    assert page.status_code == 200 and "/api/v1/messages/{id}/cancel" in html
    assert "Idempotency-Key" in html
    assert "cdn" not in html.lower() and "<script src=" not in html


def test_command_queues_through_the_same_path(instance, capsys):
    call_command("whatsapp_send", "+5521999990001", "from the shell")
    message = OutboundMessage.objects.get()
    assert (message.recipient, message.enqueued_by) == ("5521999990001", "command")


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["123", "hi"], "to"),
        ([phone(1), " "], "text"),
        ([phone(1), "hi", "--instance", "ghost"], "instance"),
    ],
)
def test_command_bad_input_exits_2_with_the_field_and_no_row(instance, args, field):
    with pytest.raises(CommandError) as caught:
        call_command("whatsapp_send", *args)
    assert caught.value.returncode == 2
    assert str(caught.value).startswith(f"{field}:")
    assert not OutboundMessage.objects.exists()


def test_apikey_command_prints_the_key_once_and_revokes(capsys):
    call_command("whatsapp_apikey", "create", "crm")
    key = capsys.readouterr().out.strip()
    row = ApiKey.objects.get(name="crm")
    assert key.startswith(row.prefix) and row.key_hash != key
    call_command("whatsapp_apikey", "list")
    listing = capsys.readouterr().out
    assert "crm" in listing and key not in listing and row.key_hash not in listing
    call_command("whatsapp_apikey", "revoke", "crm")
    assert ApiKey.objects.get(name="crm").revoked_at is not None
    with pytest.raises(CommandError):
        call_command("whatsapp_apikey", "revoke", "crm")


@pytest.mark.django_db(transaction=True)
def test_an_enqueue_outside_a_transaction_is_one_insert_committed_before_its_ring(
    instance, monkeypatch
):
    published = []

    def publish(task_name, args, **options):
        in_transaction = transaction.get_connection().in_atomic_block
        published.append((task_name, args, in_transaction, OutboundMessage.objects.count()))

    monkeypatch.setattr(doorbell, "publish", publish)
    with CaptureQueriesContext(connection) as queries:
        api.send_text(phone(1), "one statement")
    statements = [query["sql"].split()[0] for query in queries.captured_queries]
    assert "BEGIN" not in statements and statements.count("INSERT") == 1
    assert published == [(doorbell.DISPATCH, (instance.pk,), False, 1)]


@pytest.mark.django_db(transaction=True)
def test_a_lost_race_on_an_idempotency_key_outside_a_transaction_replays_the_first_message(
    instance,
):
    first = api.send_text(phone(1), "once", idempotency_key="k-1")
    with mock.patch.object(outbox, "_existing", side_effect=[None, first]):
        again = api.send_text(phone(1), "once", idempotency_key="k-1")
    assert again.pk == first.pk and OutboundMessage.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_enqueues_rings_the_dispatcher_once_and_again_once_its_task_started(instance):
    from whatsapp.tasks.messages import dispatch_messages

    def dispatch_rings(send):
        return [c for c in send.call_args_list if c.args[:2] == (doorbell.DISPATCH, (instance.pk,))]

    doorbell.started(doorbell.DISPATCH, instance.pk)
    with mock.patch("whatsapp.doorbell._send") as send:
        for n in range(3):
            api.send_text(phone(n), f"burst {n}")
        assert len(dispatch_rings(send)) == 1
        dispatch_messages(instance.pk)
        api.send_text(phone(9), "after the dispatch started")
        assert len(dispatch_rings(send)) == 2
    doorbell.started(doorbell.DISPATCH, instance.pk)
