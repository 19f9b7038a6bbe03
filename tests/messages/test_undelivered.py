"""Refused and undelivered: an ack of -1 fails a sent message with WhatsApp's refusal; a sent
message without a delivery receipt past WHATSAPP_UNDELIVERED_AFTER becomes undelivered, and a
late receipt still moves it on. Each change is announced once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.messages.conftest import phone
from tests.rest.conftest import api_client, api_key  # noqa: F401 - the REST tests' key
from whatsapp import api
from whatsapp.models import OutboundMessage
from whatsapp.models.message import MessageStatus
from whatsapp.services import dispatch, message_sweep, receipts, send, transitions

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    seen: list[tuple] = []

    def listener(message_id, old, new):
        seen.append((message_id, old, new))

    transitions.on_change(listener)
    yield seen
    transitions.remove_listener(listener)


def sent_message(instance, text="hello"):
    message = api.send_text(phone(1), text)
    result = dispatch.dispatch_instance(instance.pk)
    send.send(result.claimed[0], result.token)
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    return message


def test_an_ack_of_minus_one_fails_a_sent_message_with_whatsapps_refusal(connected_instance, heard):
    message = sent_message(connected_instance)
    heard.clear()
    refused = {"id": message.gateway_message_id, "ack": -1}
    assert receipts.apply_ack(connected_instance, refused) == "ack -1: failed"
    message.refresh_from_db()
    assert (message.status, message.ack) == (MessageStatus.FAILED, -1)
    assert message.last_error == receipts.refused_reason()
    assert message.failed_at is not None
    assert heard == [(message.pk, "sent", "failed")]
    assert receipts.apply_ack(connected_instance, refused).endswith("already delivered or done")
    assert len(heard) == 1


def test_an_ack_of_minus_one_after_delivery_changes_nothing(connected_instance, heard):
    message = sent_message(connected_instance)
    receipts.apply_ack(connected_instance, {"id": message.gateway_message_id, "ack": 2})
    receipts.apply_ack(connected_instance, {"id": message.gateway_message_id, "ack": -1})
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED


def test_the_refusal_reads_in_portuguese_by_default(connected_instance, settings):
    from django.utils import translation

    with translation.override("pt-br"):
        assert receipts.refused_reason() == "O WhatsApp não aceitou a mensagem"


def test_a_sent_message_without_receipt_past_the_limit_becomes_undelivered_then_read(
    connected_instance, heard, whatsapp_conf
):
    whatsapp_conf.UNDELIVERED_AFTER = 3600
    old = sent_message(connected_instance, "old")
    fresh = sent_message(connected_instance, "fresh")
    OutboundMessage.objects.filter(pk=old.pk).update(
        sent_at=timezone.now() - timedelta(seconds=3601)
    )
    heard.clear()
    assert message_sweep.sweep().undelivered == 1
    assert message_sweep.sweep().undelivered == 0
    assert heard == [(old.pk, "sent", "undelivered")]
    fresh.refresh_from_db()
    assert fresh.status == MessageStatus.SENT
    assert receipts.apply_ack(connected_instance, {"id": old.gateway_message_id, "ack": 3}) == (
        "ack 3: applied"
    )
    old.refresh_from_db()
    assert (old.status, old.delivered_at is not None) == (MessageStatus.READ, True)
    assert heard[-1] == (old.pk, "undelivered", "read")


def test_an_undelivered_message_may_still_be_delivered_or_refused(connected_instance):
    message = sent_message(connected_instance)
    moved = transitions.move(message.pk, frm=MessageStatus.SENT, to=MessageStatus.UNDELIVERED)
    assert moved
    receipts.apply_ack(connected_instance, {"id": message.gateway_message_id, "ack": 2})
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED


def test_rest_shows_and_filters_undelivered_messages(connected_instance, api_client):  # noqa: F811
    message = sent_message(connected_instance)
    transitions.move(message.pk, frm=MessageStatus.SENT, to=MessageStatus.UNDELIVERED)
    page = api_client.get("/api/v1/messages?status=undelivered").json()
    assert [(m["id"], m["status"]) for m in page["results"]] == [(str(message.pk), "undelivered")]
