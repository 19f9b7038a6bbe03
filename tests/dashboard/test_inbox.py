"""The inbox page: conversations with their last message and unread count, a thread of received
and sent messages in order with statuses and inline images, read marks, replies through the
queue (once per form), and per-instance access."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from tests.inbound.conftest import deliver
from tests.media.samples import JPEG, b64
from tests.messages.conftest import UNPACED, connect, phone
from whatsapp import api
from whatsapp.models import InboundMessage, OutboundMessage
from whatsapp.services import inbound_media

pytestmark = pytest.mark.django_db
GROUP = "120363025246125486@g.us"


@pytest.fixture
def instance(make_instance, sim, rung):
    instance = make_instance("main", name="Loja", **UNPACED)
    connect(sim, instance)
    return instance


def thread_url(instance, chat: str) -> str:
    return reverse("dashboard-inbox-thread", args=[instance.slug, chat])


def test_conversations_show_the_last_message_and_the_unread_count(operator_client, instance, sim):
    deliver(instance, sim.incoming(instance.session_name, phone(1), "first", push_name="Ana"))
    deliver(instance, sim.incoming(instance.session_name, phone(1), "second", push_name="Ana"))
    deliver(instance, sim.incoming(instance.session_name, phone(2), "other", group=GROUP))
    html = operator_client.get(reverse("dashboard-inbox")).content.decode()
    assert 'data-unread="2"' in html and 'data-unread="1"' in html
    assert "Ana" in html and "second" in html and GROUP in html
    assert html.index(GROUP) < html.index("Ana")  # newest first


def test_opening_a_thread_marks_it_read_and_shows_both_directions_in_order(
    operator_client, instance, sim
):
    deliver(instance, sim.incoming(instance.session_name, phone(1), "question?"))
    api.send_text(phone(1), "answer!")
    html = operator_client.get(thread_url(instance, phone(1))).content.decode()
    thread = html.split("data-thread", 1)[1]
    assert thread.index("question?") < thread.index("answer!")
    assert 'data-direction="out" data-entry' in html and 'data-status="queued"' in html
    assert not InboundMessage.objects.filter(read_at__isnull=True).exists()
    listing = operator_client.get(reverse("dashboard-inbox")).content.decode()
    assert "data-unread" not in listing
    assert "Você: answer!" in listing  # our reply is the last message now


def test_an_inbound_image_is_shown_inline_once_downloaded(operator_client, instance, sim):
    msg = sim.incoming(
        instance.session_name,
        phone(3),
        media_base64=b64(JPEG),
        mimetype="image/jpeg",
        type="image",
        caption="a photo",
    )
    row = deliver(instance, msg)
    waiting = operator_client.get(thread_url(instance, phone(3))).content.decode()
    assert 'data-media-state="pending"' in waiting
    inbound_media.run(row.media.pk)
    row.media.refresh_from_db()
    html = operator_client.get(thread_url(instance, phone(3))).content.decode()
    image = reverse("dashboard-media", args=[row.media.file_id])
    assert f'src="{image}"' in html and "a photo" in html
    assert operator_client.get(image)["Content-Disposition"].startswith("inline")


def test_updates_carry_versions_that_change_only_when_something_new_arrives(
    operator_client, instance, sim
):
    deliver(instance, sim.incoming(instance.session_name, phone(4), "one"))
    url = reverse("dashboard-inbox-updates") + f"?instance=main&chat={phone(4)}"
    first = operator_client.get(url).json()
    again = operator_client.get(url).json()
    assert first["thread"]["version"] == again["thread"]["version"]
    assert first["conversations"]["version"] == again["conversations"]["version"]
    deliver(instance, sim.incoming(instance.session_name, phone(4), "two"))
    later = operator_client.get(url).json()
    assert later["thread"]["version"] != first["thread"]["version"]
    assert "two" in later["thread"]["html"]
    assert later["thread"]["busy"] is True  # it just moved
    assert not InboundMessage.objects.filter(read_at__isnull=True).exists()


def test_a_reply_is_queued_once_per_form_and_empty_text_is_refused(
    operator_client, instance, sim, rung
):
    deliver(instance, sim.incoming(instance.session_name, phone(5), "hello?"))
    reply = reverse("dashboard-inbox-reply", args=["main", phone(5)])
    page = operator_client.get(thread_url(instance, phone(5))).content.decode()
    key = page.split('name="key" value="')[1].split('"')[0]
    for _ in range(2):  # a double click
        answer = operator_client.post(reply, {"text": "Hi! ✓", "key": key})
        assert answer.status_code == 302 and answer["Location"] == thread_url(instance, phone(5))
    sent = OutboundMessage.objects.get()
    assert (sent.recipient, sent.body, sent.status, sent.enqueued_by) == (
        phone(5),
        "Hi! ✓",
        "queued",
        "operador",
    )
    assert rung.args_of("whatsapp.messages.dispatch")
    operator_client.post(reply, {"text": "", "key": "other"})
    operator_client.post(reply, {"text": "a\x00b", "key": "third"})
    assert OutboundMessage.objects.count() == 1


def test_a_reply_to_a_group_or_a_lid_goes_to_that_chat(operator_client, instance, sim):
    lid = "37233239318535@lid"
    for chat in (GROUP, lid):
        operator_client.post(
            reverse("dashboard-inbox-reply", args=["main", chat]), {"text": "ok", "key": chat}
        )
    assert sorted(OutboundMessage.objects.values_list("recipient", flat=True)) == sorted(
        [GROUP, lid]
    )


def test_viewers_read_but_cannot_reply_and_other_instances_stay_hidden(
    client, django_user_model, make_instance, instance, sim
):
    other = make_instance("other", default=False, name="Outra", **UNPACED)
    connect(sim, other)
    deliver(instance, sim.incoming(instance.session_name, phone(6), "mine"))
    deliver(other, sim.incoming(other.session_name, phone(7), "secret"))
    viewer = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_instance"))
    instance.operators.add(viewer)
    client.force_login(viewer)
    html = client.get(reverse("dashboard-inbox")).content.decode()
    assert "mine" in html and "secret" not in html
    assert client.get(thread_url(other, phone(7))).status_code == 404
    assert "data-reply" not in client.get(thread_url(instance, phone(6))).content.decode()
    refused = client.post(
        reverse("dashboard-inbox-reply", args=["main", phone(6)]), {"text": "x", "key": "k"}
    )
    assert refused.status_code == 403 and not OutboundMessage.objects.exists()


def test_anonymous_visitors_are_sent_to_the_login_page(client: Client, instance):
    answer = client.get(reverse("dashboard-inbox"), HTTP_ACCEPT="text/html")
    assert answer.status_code == 302 and "login" in answer["Location"]


def test_the_navigation_links_the_inbox_in_portuguese(operator_client, instance):
    operator_client.cookies["django_language"] = "pt-br"
    html = operator_client.get(reverse("dashboard-messages")).content.decode()
    assert reverse("dashboard-inbox") in html and "Caixa de entrada" in html
