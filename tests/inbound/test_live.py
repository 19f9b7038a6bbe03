"""Acceptance on the real stack (web, workers, Redis, PostgreSQL, the simulator): inbound
messages from a phone, a LID and a group are stored with the right sender kind and listed by the
REST API; an ack of -1 fails a sent message; a sent message without receipt becomes undelivered
and a late read receipt still moves it to read."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from django.conf import settings
from django.utils import timezone, translation

from tests.live import wait_until
from tests.messages.conftest import UNPACED, connect, phone
from whatsapp import api
from whatsapp.models import ApiKey, InboundMessage, OutboundMessage
from whatsapp.services import message_sweep, receipts

pytestmark = [
    pytest.mark.live,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("quiet_live_workers"),
]
GROUP = "120363025246125486@g.us"
LID = "37233239318535"


@pytest.fixture
def instance(live, sim, make_instance):
    instance = make_instance("main", **UNPACED)
    connect(sim, instance, live["url"])
    sim.set_acks(delivered_after=None, read_after=None)  # receipts only when a test fires them
    return instance


def stored(gateway_id: str) -> InboundMessage:
    assert wait_until(lambda: InboundMessage.objects.filter(gateway_id=gateway_id).exists(), 20)
    return InboundMessage.objects.get(gateway_id=gateway_id)


def status_of(message: OutboundMessage, wanted: str, timeout: float = 20) -> None:
    ok = wait_until(
        lambda: OutboundMessage.objects.get(pk=message.pk).status == wanted, timeout, 0.2
    )
    assert ok, OutboundMessage.objects.filter(pk=message.pk).values("status", "last_error")[0]


def test_inbound_from_a_phone_a_lid_and_a_group_are_stored_apart_and_listed(live, instance, sim):
    by_phone = stored(sim.incoming(instance.session_name, phone(1), "from a phone")["id"])
    by_lid = stored(sim.incoming(instance.session_name, LID, "from a lid", lid=True)["id"])
    in_group = stored(
        sim.incoming(instance.session_name, phone(2), "in a group", group=GROUP)["id"]
    )
    assert (by_phone.sender, by_phone.sender_lid) == (phone(1), "")
    assert (by_lid.sender, by_lid.sender_lid, by_lid.chat) == ("", f"{LID}@lid", f"{LID}@lid")
    assert (in_group.chat, in_group.sender) == (GROUP, phone(2))
    _row, key = ApiKey.create("inbound-live", scopes=["read"])
    answer = requests.get(
        f"{live['url']}/api/v1/inbound",
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert answer.status_code == 200
    listed = [(r["text"], r["from"], r["from_lid"]) for r in answer.json()["results"]]
    assert listed == [
        ("in a group", phone(2), None),
        ("from a lid", None, f"{LID}@lid"),
        ("from a phone", phone(1), None),
    ]


def test_an_ack_of_minus_one_fails_the_message_with_whatsapps_refusal(instance, sim):
    message = api.send_text(phone(3), "first message to a new contact")
    status_of(message, "sent")
    message.refresh_from_db()
    sim.ack(message.gateway_message_id, -1)
    status_of(message, "failed")
    message.refresh_from_db()
    # Written by a worker, in the site's language; a test before this one in the same process
    # may have left another language active here.
    with translation.override(settings.LANGUAGE_CODE):
        refused = receipts.refused_reason()
    assert message.last_error == refused and message.ack == -1


def test_no_receipt_past_the_limit_is_undelivered_and_a_late_read_still_counts(instance, sim):
    message = api.send_text(phone(4), "will the phone ever come back?")
    status_of(message, "sent")
    message.refresh_from_db()
    later = timezone.now() + timedelta(hours=6, minutes=1)
    assert message_sweep.sweep(later).undelivered == 1
    status_of(message, "undelivered")
    sim.ack(message.gateway_message_id, 3)
    status_of(message, "read")
