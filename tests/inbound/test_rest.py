"""GET /api/v1/inbound and /api/v1/inbound/{id}, and `api.inbound()`: filters, cursor pages,
per-instance keys, and bad filters answered with the field and the reason."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.inbound.conftest import deliver
from tests.media.samples import JPEG, b64
from tests.messages.conftest import UNPACED, connect, phone
from whatsapp import api
from whatsapp.models import ApiKey, InboundMessage
from whatsapp.services import inbound_media
from whatsapp.services.outbox import MessageValidationError

pytestmark = pytest.mark.django_db
GROUP = "120363025246125486@g.us"


def test_a_received_text_is_listed_and_read_with_every_field(api_client, instance, sim):
    row = deliver(instance, sim.incoming(instance.session_name, phone(1), "oi", push_name="Bia"))
    listed = api_client.get("/api/v1/inbound").json()
    assert listed["next_cursor"] is None
    one = api_client.get(f"/api/v1/inbound/{row.pk}").json()
    assert listed["results"] == [one]
    assert one == {
        "id": str(row.pk),
        "instance": "main",
        "gateway_message_id": row.gateway_id,
        "type": "chat",
        "from": phone(1),
        "from_lid": None,
        "push_name": "Bia",
        "chat": phone(1),
        "is_group": False,
        "text": "oi",
        "reply_to": None,
        "sent_at": row.sent_at.isoformat(),
        "received_at": row.received_at.isoformat(),
        "media": None,
    }


def test_a_received_image_carries_its_media_description(api_client, instance, sim):
    msg = sim.incoming(
        instance.session_name, phone(2), media_base64=b64(JPEG), mimetype="image/jpeg", type="image"
    )
    row = deliver(instance, msg)
    inbound_media.run(row.media.pk)
    media = api_client.get(f"/api/v1/inbound/{row.pk}").json()["media"]
    assert (media["type"], media["state"], media["size"]) == ("image", "done", len(JPEG))
    assert api_client.get(media["url"].removeprefix("http://127.0.0.1:8000")).status_code == 200


def test_filters_select_by_sender_chat_instance_and_time_and_pages_follow_the_cursor(
    api_client, instance, sim
):
    deliver(instance, sim.incoming(instance.session_name, phone(1), "a"))
    deliver(instance, sim.incoming(instance.session_name, "37233239318535", "b", lid=True))
    for n in range(3):
        deliver(instance, sim.incoming(instance.session_name, phone(3), f"g{n}", group=GROUP))

    def texts(query):
        return [r["text"] for r in api_client.get(f"/api/v1/inbound?{query}").json()["results"]]

    assert texts(f"sender=%2B{phone(1)}") == ["a"]
    assert texts("sender=37233239318535@lid") == ["b"]
    assert texts(f"chat={GROUP}") == ["g2", "g1", "g0"]
    assert texts("instance=main&limit=200") == ["g2", "g1", "g0", "b", "a"]
    later = (timezone.now() + timedelta(minutes=1)).isoformat().replace("+", "%2B")
    assert texts(f"since={later}") == []
    seen, cursor = [], ""
    while True:
        page = api_client.get(f"/api/v1/inbound?limit=2{cursor}").json()
        seen += [r["text"] for r in page["results"]]
        if not page["next_cursor"]:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert seen == ["g2", "g1", "g0", "b", "a"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("instance=nowhere", "instance"),
        ("instance=%00", "instance"),
        ("sender=%ED%A0%80", "sender"),
        ("sender=12", "sender"),
        ("chat=abc", "chat"),
        ("since=2030-01-01T00:00:00%2B20:00", "since"),
        ("since=yesterday", "since"),
        ("since=%00", "since"),
        ("since=", "since"),
        ("limit=0", "limit"),
        ("limit=" + "9" * 5000, "limit"),
        ("cursor=" + "A" * 3000, "cursor"),
        ("cursor=%00", "cursor"),
        ("colour=red", "colour"),
    ],
)
def test_bad_filters_are_400_naming_the_field(api_client, instance, query, field):
    response = api_client.get(f"/api/v1/inbound?{query}")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]


@pytest.mark.parametrize("ident", ["0", "abc", "9" * 40, "١٢", "-1"])
def test_an_unknown_or_malformed_id_is_404(api_client, instance, ident):
    assert api_client.get(f"/api/v1/inbound/{ident}").status_code == 404


def test_a_key_limited_to_one_instance_sees_only_its_messages(make_instance, sim, rung, client):
    mine, other = make_instance("mine", **UNPACED), make_instance("other", default=False, **UNPACED)
    connect(sim, mine)
    connect(sim, other)
    seen = deliver(mine, sim.incoming(mine.session_name, phone(1), "mine"))
    hidden = deliver(other, sim.incoming(other.session_name, phone(2), "other"))
    _row, key = ApiKey.create("limited", scopes=["read"], instances=[mine])
    limited = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert [r["id"] for r in limited.get("/api/v1/inbound").json()["results"]] == [str(seen.pk)]
    assert limited.get(f"/api/v1/inbound/{hidden.pk}").status_code == 404
    assert limited.get("/api/v1/inbound?instance=other").status_code == 400
    no_read = Client(HTTP_AUTHORIZATION=f"Bearer {ApiKey.create('send', scopes=['send'])[1]}")
    assert no_read.get("/api/v1/inbound").status_code == 403


def test_the_python_api_lists_with_the_same_filters_and_reasons(instance, sim):
    row = deliver(instance, sim.incoming(instance.session_name, phone(4), "py"))
    page = api.inbound(sender=phone(4), since=timezone.now() - timedelta(minutes=1))
    assert page.results == [row] and page.next_cursor is None
    assert api.inbound_message(row.pk) == row
    with pytest.raises(MessageValidationError) as caught:
        api.inbound(chat="\ud800", since="2030-01-01T00:00:00+19:00", instance="x")
    assert set(caught.value.errors) == {"chat", "since", "instance"}
    with pytest.raises(InboundMessage.DoesNotExist):
        api.inbound_message("nope")
