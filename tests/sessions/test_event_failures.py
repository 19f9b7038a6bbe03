"""Gateway input is untrusted: odd values are read defensively, a failing event is retried and
set aside, and no event ever blocks the ones after it."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from tests.messages.conftest import UNPACED, connect, phone
from whatsapp import api, doorbell
from whatsapp.gateway.values import clean_json
from whatsapp.models import GatewayEvent, InboundMessage, Instance
from whatsapp.models.events import EventState
from whatsapp.services import dispatch, event_handlers, send, webhooks

pytestmark = pytest.mark.django_db


def stored(instance, **payload):
    """Stored as the receiver stores it: made storable first."""
    payload.setdefault("session", instance.session_name)
    payload = clean_json(payload)
    return GatewayEvent.objects.create(instance=instance, event=payload["event"], payload=payload)


def inbound(n: int, **fields):
    return {
        "event": "onmessage",
        "id": f"false_5521988887777@c.us_{n}",
        "from": "5521988887777@c.us",
        "body": "oi",
        "type": "chat",
        "t": 1795930171,
        **fields,
    }


@pytest.mark.parametrize(
    "odd",
    [
        {"t": 1e20},
        {"t": -1e15},
        {"t": float("nan")},
        {"t": "yesterday"},
        {"t": None},
        {"t": True},
        {"from": {"user": 5521}},
        {"body": ["not", "text"]},
        {"type": 7},
        {"body": "a\x00b", "from": "55\x0021@c.us"},
    ],
    ids=lambda odd: repr(odd)[:40],
)
def test_an_odd_incoming_message_is_stored_and_the_next_status_still_applies(
    make_instance, rung, odd
):
    instance = make_instance()
    odd_event = stored(instance, **inbound(1, **odd))
    after = stored(instance, event="status-find", status="inChat")
    webhooks.apply(odd_event.pk)
    webhooks.apply(after.pk)
    odd_event.refresh_from_db()
    after.refresh_from_db()
    assert odd_event.state == EventState.APPLIED, odd_event.error
    assert after.state == EventState.APPLIED
    assert Instance.objects.get(pk=instance.pk).status == "CONNECTED"
    message = InboundMessage.objects.get()
    assert "\x00" not in message.body + message.sender


def test_an_inbound_text_with_a_nul_is_kept_with_the_nul_replaced(client, make_instance, rung):
    instance = make_instance()
    url = reverse("whatsapp-webhook", args=[instance.slug, instance.webhook_secret])
    body = json.dumps({**inbound(2), "session": instance.session_name, "body": "before\x00after"})
    response = client.post(url, data=body, content_type="application/json")
    assert response.status_code == 200, response.content
    webhooks.apply(GatewayEvent.objects.get().pk)
    assert InboundMessage.objects.get().body == "before\ufffdafter"


@pytest.mark.parametrize(
    "ack", [{"ack": 10**30}, {"ack": "3"}, {"ack": None}, {"id": None}, {"id": {"x": 1}}]
)
def test_an_ack_with_odd_values_is_noted_not_raised(make_instance, rung, ack):
    instance = make_instance()
    fields = {"id": {"_serialized": "true_55@c.us_X"}, "ack": 3, **ack}
    event = stored(instance, event="onack", **fields)
    webhooks.apply(event.pk)
    event.refresh_from_db()
    assert event.state == EventState.APPLIED and "without id or ack" in event.outcome


@pytest.fixture
def poisoned(monkeypatch):
    """Make one event's handler raise, as a bug or an unforeseen payload would."""
    real = event_handlers.apply

    def apply(instance, name, payload):
        if payload.get("poison"):
            raise OverflowError("timestamp out of range for platform time_t")
        return real(instance, name, payload)

    monkeypatch.setattr(event_handlers, "apply", apply)


def test_a_failing_event_is_marked_failed_and_never_blocks_later_ones(
    make_instance, rung, poisoned
):
    instance = make_instance()
    bad = stored(instance, event="qrcode", qrcode="iVBOR", poison=True)
    later = stored(instance, event="status-find", status="inChat")
    webhooks.apply(later.pk)  # applies the earlier pending one first, in its own savepoint
    bad.refresh_from_db()
    later.refresh_from_db()
    assert bad.state == EventState.FAILED and bad.attempts == 1
    assert bad.error.startswith("OverflowError") and bad.next_attempt_at > timezone.now()
    assert later.state == EventState.APPLIED
    assert Instance.objects.get(pk=instance.pk).connected


def test_a_failing_event_is_retried_with_backoff_then_set_aside(make_instance, rung, poisoned):
    instance = make_instance()
    bad = stored(instance, **inbound(3, poison=True))
    webhooks.apply(bad.pk)
    delays = []
    for _ in range(webhooks.MAX_ATTEMPTS - 1):
        bad.refresh_from_db()
        delays.append(bad.next_attempt_at - timezone.now())
        webhooks.retry(bad.pk)
    bad.refresh_from_db()
    assert bad.state == EventState.SET_ASIDE and bad.attempts == webhooks.MAX_ATTEMPTS
    assert bad.processed_at is not None and bad.next_attempt_at is None
    assert delays == sorted(delays) and delays[0] < delays[-1]  # backing off


def test_a_failed_event_applies_on_retry_once_the_cause_is_gone(make_instance, rung, monkeypatch):
    instance = make_instance()
    event = stored(instance, **inbound(4))
    monkeypatch.setattr(event_handlers.inbound, "store", lambda *a: 1 / 0)
    webhooks.apply(event.pk)
    monkeypatch.undo()
    webhooks.retry(event.pk)
    event.refresh_from_db()
    assert event.state == EventState.APPLIED and event.error == ""
    assert InboundMessage.objects.count() == 1


def test_an_old_session_event_is_set_aside_on_retry_once_a_later_one_applied(
    make_instance, rung, poisoned
):
    instance = make_instance()
    old_qr = stored(instance, event="qrcode", qrcode="iVBOR", poison=True)
    connected = stored(instance, event="status-find", status="inChat")
    webhooks.apply(connected.pk)
    webhooks.retry(old_qr.pk)
    old_qr.refresh_from_db()
    assert old_qr.state == EventState.SET_ASIDE and "superseded" in old_qr.outcome
    assert Instance.objects.get(pk=instance.pk).status == "CONNECTED"


def test_the_sweeper_rings_for_lost_and_due_events_only(make_instance, rung, poisoned):
    instance = make_instance()
    lost = stored(instance, event="status-find", status="inChat")
    fresh = stored(instance, event="status-find", status="inChat")
    failed = stored(instance, **inbound(5, poison=True))
    webhooks.apply(failed.pk)
    GatewayEvent.objects.filter(pk=lost.pk).update(
        received_at=timezone.now() - timedelta(minutes=5)
    )
    rung.clear()
    assert webhooks.sweep() == 1
    assert rung.args_of(doorbell.APPLY_EVENT) == [lost.pk]
    rung.clear()
    assert webhooks.sweep(now=timezone.now() + timedelta(hours=1)) == 3
    assert rung.args_of(doorbell.RETRY_EVENT) == [failed.pk]
    assert fresh.pk in rung.args_of(doorbell.APPLY_EVENT)


def test_failed_events_are_filterable_in_the_admin(admin_client, make_instance, rung, poisoned):
    instance = make_instance()
    bad = stored(instance, **inbound(6, poison=True))
    stored(instance, event="status-find", status="inChat")
    webhooks.apply(bad.pk)
    response = admin_client.get("/admin/whatsapp/gatewayevent/?state__exact=failed")
    assert response.status_code == 200
    page = response.content.decode()
    assert f">{bad.pk}<" in page and "OverflowError" in page
    assert response.context["cl"].result_count == 1


@pytest.mark.django_db(transaction=True)
def test_an_ack_is_applied_while_another_process_holds_the_instance_row(make_instance, sim, rung):
    instance = make_instance("main", **UNPACED)
    connect(sim, instance)
    message = api.send_text(phone(1), "ack me")
    result = dispatch.dispatch_instance(instance.pk)
    send.send(result.claimed[0], result.token)
    message.refresh_from_db()
    ack = stored(instance, event="onack", id={"_serialized": message.gateway_message_id}, ack=2)
    holding, release = threading.Event(), threading.Event()

    def hold_instance_row() -> None:
        with transaction.atomic():
            Instance.objects.select_for_update().get(pk=instance.pk)
            holding.set()
            release.wait(10)
        connection.close()

    holder = threading.Thread(target=hold_instance_row)
    holder.start()
    try:
        assert holding.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
        webhooks.apply(ack.pk)
    finally:
        release.set()
        holder.join(10)
    message.refresh_from_db()
    assert message.status == "delivered" and message.delivered_at


def test_an_event_the_sweeper_rang_is_not_rung_at_every_sweep_while_it_waits(make_instance, rung):
    """During a long backlog the first doorbell is only queued: one more ring, not one a sweep."""
    from django.core.cache import cache

    instance = make_instance()
    waiting = stored(instance, event="status-find", status="inChat")
    start = timezone.now() + timedelta(minutes=1)
    rung.clear()
    assert webhooks.sweep(now=start) == 1
    assert webhooks.sweep(now=start + timedelta(seconds=30)) == 0
    assert webhooks.sweep(now=start + webhooks.RERING_EVERY - timedelta(seconds=1)) == 0
    assert rung.args_of(doorbell.APPLY_EVENT) == [waiting.pk]
    cache.clear()  # a flushed Redis lost the doorbells and the marks together
    assert webhooks.sweep(now=start + timedelta(seconds=60)) == 1
    assert webhooks.sweep(now=start + timedelta(seconds=60) + webhooks.RERING_EVERY) == 1
