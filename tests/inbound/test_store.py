"""Every `onmessage` becomes one row: who wrote (a phone number or a LID, never mixed), in which
chat (a group's id for groups), its type, its words, what it quotes, the sender's push name."""

from __future__ import annotations

import pytest

from tests.inbound.conftest import deliver
from tests.media.samples import JPEG, b64
from tests.messages.conftest import phone
from whatsapp.models import InboundMessage
from whatsapp.services import inbound

pytestmark = pytest.mark.django_db

GROUP = "120363025246125486@g.us"
LID = "37233239318535"


def test_a_text_from_a_phone_number_stores_its_digits_chat_push_name_and_time(instance, sim):
    msg = sim.incoming(instance.session_name, phone(1), "olá 👋 مرحبا", push_name="Ana")
    row = deliver(instance, msg)
    assert (row.sender, row.sender_lid, row.chat) == (phone(1), "", phone(1))
    assert (row.type, row.body, row.push_name, row.quoted_id) == ("chat", "olá 👋 مرحبا", "Ana", "")
    assert row.sent_at is not None and int(row.sent_at.timestamp()) == msg["t"]


def test_a_sender_known_only_by_lid_is_kept_apart_from_the_digits(instance, sim):
    row = deliver(instance, sim.incoming(instance.session_name, LID, "hi", lid=True))
    assert (row.sender, row.sender_lid, row.chat) == ("", f"{LID}@lid", f"{LID}@lid")


def test_a_group_message_has_the_group_as_chat_and_its_author_as_sender(instance, sim):
    by_phone = deliver(instance, sim.incoming(instance.session_name, phone(2), "a", group=GROUP))
    by_lid = deliver(instance, sim.incoming(instance.session_name, LID, "b", group=GROUP, lid=True))
    assert (by_phone.chat, by_phone.sender, by_phone.sender_lid) == (GROUP, phone(2), "")
    assert (by_lid.chat, by_lid.sender, by_lid.sender_lid) == (GROUP, "", f"{LID}@lid")


def test_a_reply_keeps_the_id_of_the_message_it_quotes(instance, sim):
    first = sim.incoming(instance.session_name, phone(3), "first")
    row = deliver(instance, sim.incoming(instance.session_name, phone(3), "re", quoted=first["id"]))
    assert row.quoted_id == first["id"]


def test_a_file_keeps_its_caption_as_the_text_never_its_body(instance, sim):
    msg = sim.incoming(
        instance.session_name,
        phone(4),
        media_base64=b64(JPEG),
        mimetype="image/jpeg",
        type="image",
        caption="the parcel",
    )
    row = deliver(instance, {**msg, "body": "/9j/4AAQSkZJRgABAQ…base64 thumbnail"})
    assert (row.type, row.body) == ("image", "the parcel")


def test_a_location_keeps_the_name_of_the_place(instance, sim):
    msg = sim.incoming(instance.session_name, phone(5), "")
    msg |= {"type": "location", "lat": -22.9, "lng": -43.2, "loc": "Cristo Redentor"}
    assert deliver(instance, msg).body == "Cristo Redentor"


def test_a_nul_and_a_lone_surrogate_in_the_text_are_replaced_and_the_message_kept(instance, sim):
    msg = sim.incoming(instance.session_name, phone(6), "ok")
    msg |= {"body": "a\x00b\ud800c", "notifyName": "N\x00me"}
    # Straight to the writer: the receiver cleans bodies before storing the event, and the
    # writer must hold on its own.
    assert inbound.store(instance, msg) == "inbound stored"
    row = InboundMessage.objects.get(gateway_id=msg["id"])
    assert (row.body, row.push_name) == ("a\ufffdb\ufffdc", "N\ufffdme")


@pytest.mark.parametrize(
    "changes",
    [
        {"from": 12, "sender": "x", "author": ["y"]},
        {"from": "not-a-number@c.us", "sender": None},
        {"from": "5521" + "9" * 40 + "@c.us"},
        {"from": {"_serialized": "status@broadcast"}, "t": 1e30, "type": None},
        {"notifyName": 7, "sender": {"pushname": ["x"]}, "quotedMsgId": {"bad": 1}},
    ],
)
def test_odd_fields_from_the_gateway_store_the_message_with_what_can_be_read(
    instance, sim, changes
):
    msg = sim.incoming(instance.session_name, phone(7), "still here") | changes
    msg.pop("chatId", None)
    row = deliver(instance, msg)
    assert row.body in ("still here", "")
    assert row.sender == "" or row.sender.isdigit()
    assert "@" not in row.sender


def test_a_repeated_webhook_stores_one_row(instance, sim):
    msg = sim.incoming(instance.session_name, phone(8), "once")
    deliver(instance, msg)
    assert inbound.store(instance, msg) == "inbound duplicate"
    assert InboundMessage.objects.filter(gateway_id=msg["id"]).count() == 1
