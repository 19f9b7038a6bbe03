"""Applying stored gateway events to the instance (the task's logic, called directly)."""

from __future__ import annotations

import pytest

from whatsapp.models import GatewayEvent, InboundMessage, Instance
from whatsapp.services import webhooks

pytestmark = pytest.mark.django_db


def apply(instance, **payload):
    payload.setdefault("session", instance.session_name)
    event = GatewayEvent.objects.create(instance=instance, event=payload["event"], payload=payload)
    webhooks.apply(event.pk)
    instance.refresh_from_db()
    event.refresh_from_db()
    return event


def test_a_qrcode_event_stores_the_code_as_a_data_url(make_instance):
    instance = make_instance()
    apply(instance, event="qrcode", qrcode="iVBORw0KGgo", urlcode="2@abc")
    assert instance.status == "QRCODE"
    assert instance.qr_code == "data:image/png;base64,iVBORw0KGgo"
    assert instance.code_produced_at is not None


def test_a_phone_code_event_stores_the_pairing_code(make_instance):
    instance = make_instance()
    apply(instance, event="phoneCode", phoneCode="ABCD-EFGH", phone="5521999999999")
    assert instance.status == "PHONECODE" and instance.pairing_code == "ABCD-EFGH"


def test_in_chat_means_connected_and_clears_the_qr(make_instance):
    instance = make_instance()
    apply(instance, event="qrcode", qrcode="iVBOR", urlcode="2@x")
    apply(instance, event="status-find", status="inChat")
    assert instance.connected and instance.status == "CONNECTED" and instance.qr_code == ""
    assert instance.connected_since is not None


def test_a_phone_unlinking_the_device_disconnects_and_forgets_the_phone(make_instance):
    instance = make_instance(connected=True, status="CONNECTED", phone="5521999999999")
    apply(instance, event="status-find", status="disconnectedMobile")
    assert not instance.connected and instance.status == "CLOSED" and instance.phone == ""


def test_logout_and_close_events_close_the_session(make_instance):
    instance = make_instance(connected=True, status="CONNECTED")
    apply(instance, event="closesession", message="Session: x disconnected", connected=False)
    assert instance.status == "CLOSED" and not instance.connected
    Instance.objects.filter(pk=instance.pk).update(connected=True, status="CONNECTED")
    apply(instance, event="logoutsession", message="Session: x logged out", connected=False)
    assert instance.needs_scan and not instance.connected


def test_an_event_is_applied_once(make_instance):
    instance = make_instance()
    event = apply(instance, event="status-find", status="inChat")
    first = event.processed_at
    webhooks.apply(event.pk)
    event.refresh_from_db()
    assert event.processed_at == first


def test_an_incoming_message_is_stored_once(make_instance, rung):
    instance = make_instance()
    payload = {
        "event": "onmessage",
        "session": instance.session_name,
        "id": "false_5521@c.us_AB",
        "from": "5521988887777@c.us",
        "body": "oi",
        "type": "chat",
        "t": 1795930171,
    }
    assert webhooks.store(instance, payload) is not None
    assert webhooks.store(instance, payload) is None  # redelivered: deduplicated
    webhooks.apply(GatewayEvent.objects.get().pk)
    message = InboundMessage.objects.get()
    assert message.sender == "5521988887777" and message.body == "oi"


def test_an_ack_for_an_unknown_message_is_stored_and_ignored(make_instance):
    instance = make_instance()
    event = apply(
        instance, event="onack", ack=3, id={"_serialized": "true_55@c.us_X", "fromMe": True}
    )
    assert "unknown" in event.outcome
