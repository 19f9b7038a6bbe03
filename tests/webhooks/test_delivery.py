"""Events become delivery rows in the change's transaction; a worker signs, posts, retries,
keeps a message's events in order, and disables an endpoint that never answers."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.messages.conftest import phone
from whatsapp import api, audit, doorbell, signals
from whatsapp.checks import check_webhook_settings
from whatsapp.metrics import WEBHOOK_DELIVERIES
from whatsapp.models import WebhookDelivery, WebhookEndpoint
from whatsapp.models.instance import SessionStatus
from whatsapp.models.media import WorkState
from whatsapp.services import (
    dispatch,
    inbound,
    receipts,
    send,
    session_state,
    webhook_delivery,
    webhook_endpoints,
)

pytestmark = pytest.mark.django_db

DELIVER = doorbell.DELIVER_WEBHOOK


def endpoint(url: str, **kwargs) -> tuple[WebhookEndpoint, str]:
    return webhook_endpoints.create(audit.PYTHON, url=url, **kwargs)


def send_one(instance, text: str = "hello", **kwargs):
    message = api.send_text(phone(1), text, **kwargs)
    result = dispatch.dispatch_instance(instance.pk)
    assert result.token is not None
    send.send(result.claimed[0], result.token)
    message.refresh_from_db()
    return message


def run_all(rung) -> list[str]:
    """Run every delivery rung so far (as the worker would), once each."""
    results = []
    for delivery_id in rung.args_of(DELIVER):
        results.append(webhook_delivery.run(delivery_id))
    rung.clear()
    return results


def test_a_status_change_writes_one_delivery_per_endpoint_that_wants_it(
    connected_instance, rung, receiver
):
    wants_all, _ = endpoint(receiver.url)
    wants_status, _ = endpoint(receiver.url + "?2", events=["message.status"])
    endpoint(receiver.url + "?3", events=["session.status"])
    message = send_one(connected_instance, metadata={"order": 42})
    rows = WebhookDelivery.objects.filter(event_type="message.status")
    assert {row.endpoint_id for row in rows} == {wants_all.pk, wants_status.pk}
    assert {row.event_id for row in rows} == {rows[0].event_id}  # one event, two deliveries
    event = json.loads(rows[0].body)
    assert event["id"].startswith("evt_") and event["type"] == "message.status"
    assert event["instance"] == connected_instance.slug
    assert event["data"]["id"] == str(message.pk)
    assert event["data"]["status"] == "sent"
    assert event["data"]["metadata"] == {"order": 42}
    assert sorted(rung.args_of(DELIVER)) == sorted(str(row.pk) for row in rows)


def test_steps_of_sending_raise_no_event(connected_instance, rung, receiver):
    endpoint(receiver.url)
    api.send_text(phone(1), "queued only")
    dispatch.dispatch_instance(connected_instance.pk)  # queued → dispatched
    assert not WebhookDelivery.objects.exists()


def test_a_disabled_endpoint_or_another_instances_filter_gets_nothing(
    connected_instance, make_instance, rung, receiver
):
    other = make_instance("other", default=False)
    disabled, _ = endpoint(receiver.url)
    webhook_endpoints.set_enabled(audit.PYTHON, disabled, False)
    endpoint(receiver.url, instance=other.slug)
    send_one(connected_instance)
    assert not WebhookDelivery.objects.exists()


def test_every_delivery_is_signed_and_verifies_only_with_its_secret(
    connected_instance, rung, receiver, loopback_allowed
):
    _row, secret = endpoint(receiver.url)
    send_one(connected_instance)
    assert run_all(rung) == ["delivered"]
    (request,) = receiver.accepted()
    headers = request.headers
    assert headers["webhook-id"].startswith("evt_")
    assert headers["webhook-signature"].startswith("v1,")
    event = Webhook(secret).verify(request.body, headers)
    assert event["type"] == "message.status"
    _other, wrong = endpoint(receiver.url)
    with pytest.raises(WebhookVerificationError):
        Webhook(wrong).verify(request.body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(request.body.replace(b"sent", b"read"), headers)
    row = WebhookDelivery.objects.get()
    assert row.state == WorkState.DONE and row.last_status == 200
    assert row.response_excerpt == '{"ok": true}' and row.duration_ms is not None
    assert WebhookEndpoint.objects.get(pk=row.endpoint_id).last_success_at is not None


def test_the_secret_is_stored_encrypted_and_never_in_the_endpoints_json(db, receiver):
    row, secret = endpoint(receiver.url)
    assert secret.startswith("whsec_")
    assert secret not in row.secret_encrypted
    assert secret not in json.dumps(webhook_endpoints.endpoint_json(row))
    assert WebhookEndpoint.objects.get().secret == secret


def test_a_failed_attempt_is_retried_after_its_delay_then_given_up(
    connected_instance, rung, receiver, loopback_allowed
):
    endpoint(receiver.url)
    receiver.status = 500
    send_one(connected_instance)
    (delivery_id,) = rung.args_of(DELIVER)
    failed_before = WEBHOOK_DELIVERIES.labels(result="failed")._value.get()
    results = []
    for _attempt in range(4):
        rung.clear()
        results.append(webhook_delivery.run(delivery_id))
        row = WebhookDelivery.objects.get()
        if row.state == WorkState.PENDING:
            # Not due before its delay: a doorbell rung early changes nothing.
            assert row.next_attempt_at > timezone.now() - timedelta(seconds=1)
            assert rung.args_of(DELIVER) == [delivery_id]
            time.sleep(0.08)
    assert results == ["failed: HTTP 500"] * 3 + ["gave_up: HTTP 500"]
    row = WebhookDelivery.objects.get()
    assert row.state == WorkState.FAILED and row.attempts == 4 and row.last_status == 500
    assert row.response_excerpt == "receiver says no"
    assert WEBHOOK_DELIVERIES.labels(result="failed")._value.get() == failed_before + 4
    assert len(receiver.requests) == 4


def test_a_delivery_is_not_sent_before_its_next_attempt(
    connected_instance, rung, receiver, loopback_allowed
):
    loopback_allowed.WEBHOOK_RETRY_DELAYS = [60]
    endpoint(receiver.url)
    receiver.status = 503
    send_one(connected_instance)
    (delivery_id,) = rung.args_of(DELIVER)
    assert webhook_delivery.run(delivery_id).startswith("failed")
    receiver.status = 200
    assert webhook_delivery.run(delivery_id).startswith("not due")
    assert len(receiver.requests) == 1


def test_a_later_event_of_a_message_waits_while_an_earlier_one_is_pending(
    connected_instance, rung, receiver, loopback_allowed
):
    # A retry a minute away, made due by the test: on a busy machine a short delay could pass
    # between two steps and let "sent" be tried again where the test expects it to wait.
    loopback_allowed.WEBHOOK_RETRY_DELAYS = [60]
    endpoint(receiver.url)
    receiver.status = 500
    message = send_one(connected_instance)
    (sent_id,) = rung.args_of(DELIVER)
    rung.clear()
    receipts.apply_ack(connected_instance, {"id": message.gateway_message_id, "ack": 3})
    (read_id,) = rung.args_of(DELIVER)
    rung.clear()
    # Its own doorbell cannot take "read"; the endpoint's earliest due row ("sent") is tried.
    assert webhook_delivery.run(read_id).startswith("not due, waiting")
    assert [r.event["data"]["status"] for r in receiver.requests] == ["sent"]
    assert WebhookDelivery.objects.get(pk=sent_id).state == WorkState.PENDING
    # While "sent" waits for its retry, "read" waits too.
    assert webhook_delivery.run(read_id).startswith("not due, waiting")
    assert len(receiver.requests) == 1
    receiver.status = 200
    WebhookDelivery.objects.filter(pk=sent_id).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    assert webhook_delivery.run(sent_id) == "delivered; then 1 more"
    assert [e["data"]["status"] for e in receiver.events()] == ["sent", "read"]


def test_one_doorbell_delivers_a_burst_of_events_in_order(
    connected_instance, rung, receiver, loopback_allowed
):
    endpoint(receiver.url)
    messages = [send_one(connected_instance, f"burst {n}") for n in range(3)]
    for message in messages:
        receipts.apply_ack(connected_instance, {"id": message.gateway_message_id, "ack": 3})
    first = rung.args_of(DELIVER)[0]
    assert webhook_delivery.run(first) == "delivered; then 5 more"
    by_message: dict[str, list[str]] = {}
    for event in receiver.events():
        by_message.setdefault(event["data"]["id"], []).append(event["data"]["status"])
    assert by_message == {str(m.pk): ["sent", "read"] for m in messages}


def test_events_of_other_messages_do_not_wait(connected_instance, rung, receiver, loopback_allowed):
    endpoint(receiver.url)
    receiver.status = 500
    send_one(connected_instance, "first")
    (first_id,) = rung.args_of(DELIVER)
    webhook_delivery.run(first_id)
    rung.clear()
    receiver.status = 200
    send_one(connected_instance, "second")
    (second_id,) = rung.args_of(DELIVER)
    assert webhook_delivery.run(second_id).startswith("delivered")


def test_an_endpoint_failing_past_the_limit_is_disabled_and_the_signal_sent_on_commit(
    connected_instance, rung, receiver, loopback_allowed, django_capture_on_commit_callbacks
):
    heard = []

    def listener(sender, **kwargs):
        heard.append(kwargs)

    signals.webhook_endpoint_disabled.connect(listener)
    try:
        row, _ = endpoint(receiver.url)
        receiver.status = 500
        send_one(connected_instance)
        (delivery_id,) = rung.args_of(DELIVER)
        with django_capture_on_commit_callbacks(execute=True):
            webhook_delivery.run(delivery_id)
        row.refresh_from_db()
        assert row.enabled and row.failing_since is not None and heard == []
        WebhookEndpoint.objects.filter(pk=row.pk).update(
            failing_since=timezone.now() - timedelta(days=3, seconds=1)
        )
        time.sleep(0.08)
        with django_capture_on_commit_callbacks(execute=True):
            webhook_delivery.run(delivery_id)
        row.refresh_from_db()
        assert not row.enabled and row.disabled_at is not None
        assert heard == [
            {
                "signal": signals.webhook_endpoint_disabled,
                "endpoint_id": row.pk,
                "url": receiver.url,
                "reason": row.disabled_reason,
            }
        ]
        # Its pending delivery is not sent to a disabled endpoint.
        time.sleep(0.08)
        assert webhook_delivery.run(delivery_id) == "endpoint disabled"
    finally:
        signals.webhook_endpoint_disabled.disconnect(listener)


def test_a_success_clears_the_failing_mark(connected_instance, rung, receiver, loopback_allowed):
    row, _ = endpoint(receiver.url)
    receiver.status = 500
    send_one(connected_instance)
    (delivery_id,) = rung.args_of(DELIVER)
    webhook_delivery.run(delivery_id)
    receiver.status = 200
    time.sleep(0.08)
    webhook_delivery.run(delivery_id)
    row.refresh_from_db()
    assert row.failing_since is None and row.last_success_at is not None


def test_the_sweep_rings_lost_doorbells_and_releases_lost_leases(
    connected_instance, rung, receiver, loopback_allowed
):
    endpoint(receiver.url)
    send_one(connected_instance, "one")
    send_one(connected_instance, "two")
    first, second = WebhookDelivery.objects.order_by("id")
    rung.clear()
    later = timezone.now() + timedelta(minutes=1)
    WebhookDelivery.objects.filter(pk=first.pk).update(
        state=WorkState.RUNNING, lease_expires_at=timezone.now()
    )
    assert webhook_delivery.sweep(later) == 2
    assert sorted(rung.args_of(DELIVER)) == sorted([str(first.pk), str(second.pk)])
    assert WebhookDelivery.objects.get(pk=first.pk).state == WorkState.PENDING
    rung.clear()
    assert webhook_delivery.run(str(first.pk)) == "delivered; then 1 more"
    assert WebhookDelivery.objects.filter(state=WorkState.DONE).count() == 2
    assert webhook_delivery.sweep(later) == 0


def test_the_sweep_leaves_an_event_waiting_behind_an_earlier_one(
    connected_instance, rung, receiver, loopback_allowed
):
    loopback_allowed.WEBHOOK_RETRY_DELAYS = [3600]
    endpoint(receiver.url)
    receiver.status = 500
    message = send_one(connected_instance)
    (sent_id,) = rung.args_of(DELIVER)
    webhook_delivery.run(sent_id)
    receipts.apply_ack(connected_instance, {"id": message.gateway_message_id, "ack": 3})
    rung.clear()
    assert webhook_delivery.sweep(timezone.now() + timedelta(minutes=1)) == 0


def test_a_received_message_raises_message_received_with_its_json(
    connected_instance, rung, receiver
):
    endpoint(receiver.url, events=["message.received"])
    payload = {"id": "false_5521987000001@c.us_ABC", "from": "5521987000001@c.us", "type": "chat"}
    inbound.store(connected_instance, {**payload, "body": "oi 👋", "t": 1_780_000_000})
    event = json.loads(WebhookDelivery.objects.get().body)
    assert event["type"] == "message.received"
    assert event["data"]["text"] == "oi 👋"
    assert event["data"]["from"] == "5521987000001"
    assert event["data"]["gateway_message_id"] == payload["id"]
    assert event["data"]["media"] is None and event["data"]["from_lid"] is None
    inbound.store(connected_instance, payload)  # the same message again: no second event
    assert WebhookDelivery.objects.count() == 1


@pytest.mark.parametrize(
    ("old", "new", "reason", "status"),
    [
        (SessionStatus.QRCODE, SessionStatus.CONNECTED, "", "connected"),
        (SessionStatus.CONNECTED, SessionStatus.UNKNOWN, "gateway", "disconnected"),
        (SessionStatus.CONNECTED, SessionStatus.CLOSED, "logout", "logged_out"),
        (SessionStatus.CONNECTED, SessionStatus.CLOSED, "close", "closed"),
        (SessionStatus.CLOSED, SessionStatus.QRCODE, "", "needs_scan"),
    ],
)
def test_session_changes_raise_session_status(
    make_instance, rung, receiver, old, new, reason, status
):
    instance = make_instance("main", status=old, connected=old == SessionStatus.CONNECTED)
    endpoint(receiver.url, events=["session.status"])
    session_state.observe(instance, session_state.Observed(new, reason=reason))
    event = json.loads(WebhookDelivery.objects.get().body)
    assert event["type"] == "session.status" and event["instance"] == "main"
    assert event["data"]["status"] == status
    assert event["data"]["gateway_status"] == new


def test_a_starting_session_raises_no_event(make_instance, rung, receiver):
    instance = make_instance("main", status=SessionStatus.CLOSED)
    endpoint(receiver.url)
    session_state.observe(instance, session_state.Observed(SessionStatus.INITIALIZING))
    assert not WebhookDelivery.objects.exists()


def test_signals_are_sent_after_the_commit_only(
    connected_instance, rung, django_capture_on_commit_callbacks
):
    heard: list[tuple[str, dict]] = []

    def hear(name):
        def listener(sender, **kwargs):
            heard.append((name, kwargs))

        return listener

    listeners = {
        signals.message_status_changed: hear("status"),
        signals.message_received: hear("received"),
        signals.session_status_changed: hear("session"),
    }
    for signal, listener in listeners.items():
        signal.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=False) as pending:
            message = send_one(connected_instance)
        assert heard == []  # nothing before the commit
        for callback in pending:
            callback()
        steps = [(k["old_status"], k["new_status"]) for name, k in heard if name == "status"]
        assert steps == [("queued", "dispatched"), ("dispatched", "sending"), ("sending", "sent")]
        assert all(k["message_id"] == message.pk for _n, k in heard)
        heard.clear()
        with django_capture_on_commit_callbacks(execute=True):
            inbound.store(connected_instance, {"id": "in-1", "from": "x@c.us", "type": "chat"})
            session_state.observe(
                connected_instance, session_state.Observed(SessionStatus.CLOSED, reason="logout")
            )
        assert [name for name, _k in heard] == ["received", "session"]
        assert heard[1][1]["status"] == "logged_out"
    finally:
        for signal, listener in listeners.items():
            signal.disconnect(listener)


@pytest.mark.parametrize(
    "delays", [[], "5,60", [5, "soon"], [0], [-1], [10**9], None, [float("nan")]]
)
def test_bad_retry_delays_fail_a_system_check(whatsapp_conf, delays):
    whatsapp_conf.WEBHOOK_RETRY_DELAYS = delays
    assert [m.id for m in check_webhook_settings()] == ["whatsapp.E006"]


def test_good_webhook_settings_pass_the_check(whatsapp_conf):
    whatsapp_conf.WEBHOOK_RETRY_DELAYS = ["5", "60"]  # as the environment gives them
    assert check_webhook_settings() == []


def test_a_bulk_change_rings_a_few_doorbells_and_one_drains_every_event(
    connected_instance, rung, receiver, loopback_allowed
):
    from django.db.models import Q

    from whatsapp.models import OutboundMessage
    from whatsapp.models.message import MessageStatus
    from whatsapp.services import transitions, webhook_events

    endpoint(receiver.url)
    ids = [api.send_text(phone(n), f"bulk {n}").pk for n in range(12)]
    rung.clear()
    moved = transitions.move_many(Q(pk__in=ids), frm=MessageStatus.QUEUED, to="cancelled")
    assert len(moved) == 12 and WebhookDelivery.objects.count() == 12
    rings = rung.args_of(DELIVER)
    assert len(rings) == webhook_events.RINGS_PER_TRANSACTION
    assert webhook_delivery.run(rings[0]) == "delivered; then 11 more"
    assert sorted(e["data"]["id"] for e in receiver.events()) == sorted(str(i) for i in ids)
    assert not OutboundMessage.objects.exclude(status="cancelled").exists()
