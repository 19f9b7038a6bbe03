"""Files people send: noted from the webhook, downloaded by a worker through the gateway, stored,
described for events and pages, and served only to key holders and staff."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.media.samples import JPEG, PDF, b64
from tests.messages.conftest import UNPACED, connect, phone
from whatsapp import audit, signals
from whatsapp.models import InboundMedia, InboundMessage, WebhookDelivery
from whatsapp.models.media import WorkState
from whatsapp.services import inbound_media, webhook_endpoints, webhooks

pytestmark = pytest.mark.django_db


@pytest.fixture
def instance(make_instance, sim, rung):
    instance = make_instance("main", **UNPACED)
    connect(sim, instance)
    return instance


def deliver(instance, msg: dict) -> InboundMessage:
    """The webhook the gateway would post, stored and applied as the receiver and a worker do."""
    payload = {"event": "onmessage", "session": instance.session_name, **msg}
    event = webhooks.store(instance, payload)
    assert event is not None
    webhooks.apply(event.pk)
    return InboundMessage.objects.get(gateway_id=msg["id"])


def receive(instance, sim, data: bytes, mime: str, kind: str = "image", **extra) -> InboundMessage:
    msg = sim.incoming(
        instance.session_name, phone(5), media_base64=b64(data), mimetype=mime, type=kind, **extra
    )
    return deliver(instance, msg)


def test_an_inbound_image_is_noted_then_downloaded_and_stored(instance, sim, rung):
    inbound = receive(instance, sim, JPEG, "image/jpeg", caption="the parcel")
    row = InboundMedia.objects.get(inbound=inbound)
    assert (row.kind, row.state, row.caption, row.declared_size) == (
        "image",
        WorkState.PENDING,
        "the parcel",
        len(JPEG),
    )
    assert rung.args_of("whatsapp.media.download_inbound") == [str(row.pk)]
    assert inbound_media.describe(inbound)["id"] is None  # not downloaded yet
    assert inbound_media.run(row.pk) == "stored"
    assert inbound_media.run(row.pk) == "not claimed"
    row.refresh_from_db()
    assert row.state == WorkState.DONE and row.file.sha256 == hashlib.sha256(JPEG).hexdigest()
    described = inbound_media.describe(InboundMessage.objects.get(pk=inbound.pk))
    assert described == {
        "id": str(row.file.pk),
        "type": "image",
        "size": len(JPEG),
        "mime_type": "image/jpeg",
        "filename": None,
        "url": f"http://127.0.0.1:8000/api/v1/media/{row.file.pk}",
        "state": "done",
    }


def test_a_document_and_a_voice_note_keep_their_kind_and_a_text_has_no_media(instance, sim):
    document = receive(instance, sim, PDF, "application/pdf", "document", filename="nf.pdf")
    voice = receive(instance, sim, b"OggS\x00\x02" + b"\x00" * 90, "audio/ogg; codecs=opus", "ptt")
    assert InboundMedia.objects.get(inbound=document).filename == "nf.pdf"
    assert InboundMedia.objects.get(inbound=voice).kind == "voice"
    text = deliver(instance, sim.incoming(instance.session_name, phone(6), "just words"))
    assert inbound_media.describe(text) is None
    assert not InboundMedia.objects.filter(inbound=text).exists()


def test_a_gateway_away_leaves_it_for_the_sweep_and_a_lost_file_fails_it(instance, sim, rung):
    inbound = receive(instance, sim, JPEG, "image/jpeg")
    row = InboundMedia.objects.get(inbound=inbound)
    sim.set_fault("download-media", error_rate=1.0, error_status=500)
    assert inbound_media.run(row.pk) == "later"
    row.refresh_from_db()
    assert row.state == WorkState.PENDING and row.attempts == 1
    rung.clear()
    later = timezone.now() + timedelta(minutes=1)
    assert inbound_media.sweep(later) == 1
    assert rung.args_of("whatsapp.media.download_inbound") == [str(row.pk)]
    sim.set_fault("download-media", error_rate=1.0, error_status=None)  # 400 Decrypt file error
    assert inbound_media.run(row.pk) == "failed"
    row.refresh_from_db()
    assert row.state == WorkState.FAILED and "download-media" in row.error


def test_the_api_serves_a_received_file_to_a_key_holder_only(instance, sim, api_client):
    inbound = receive(instance, sim, JPEG, "image/jpeg")
    inbound_media.run(InboundMedia.objects.get(inbound=inbound).pk)
    url = inbound_media.describe(inbound)["url"].removeprefix("http://127.0.0.1:8000")
    assert Client().get(url).status_code == 401
    response = api_client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == JPEG


def test_the_dashboard_serves_files_to_staff_who_may_view_only(
    instance, sim, operator_client, django_user_model
):
    inbound = receive(instance, sim, JPEG, "image/jpeg")
    inbound_media.run(InboundMedia.objects.get(inbound=inbound).pk)
    media_id = inbound_media.describe(inbound)["id"]
    url = reverse("dashboard-media", args=[media_id])
    response = operator_client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == JPEG
    assert response["Content-Type"] == "image/jpeg"
    assert Client().get(url).status_code in (302, 401)
    plain = django_user_model.objects.create_user("plain", password="pw-123-secret", is_staff=True)
    visitor = Client()
    visitor.force_login(plain)
    assert visitor.get(url).status_code == 403


def test_listeners_hear_once_when_a_file_is_stored_or_given_up(instance, sim):
    heard: list[tuple[int, str]] = []
    inbound_media.on_finished(lambda inbound_id, state: heard.append((inbound_id, state)))
    listener = inbound_media._listeners[-1]
    try:
        stored = receive(instance, sim, JPEG, "image/jpeg")
        inbound_media.run(InboundMedia.objects.get(inbound=stored).pk)
        inbound_media.run(InboundMedia.objects.get(inbound=stored).pk)  # a second delivery
        lost = receive(instance, sim, PDF, "application/pdf", "document")
        row = InboundMedia.objects.get(inbound=lost)
        InboundMedia.objects.filter(pk=row.pk).update(
            state=WorkState.RUNNING,
            attempts=inbound_media.MAX_ATTEMPTS,
            lease_expires_at=timezone.now() - timedelta(seconds=1),
        )
        inbound_media.sweep(timezone.now())
    finally:
        inbound_media.remove_listener(listener)
    assert heard == [(stored.pk, "done"), (lost.pk, "failed")]


def hook(**kwargs) -> None:
    HEARD.append(kwargs["inbound_id"])


HEARD: list[int] = []


def test_a_received_file_is_announced_once_it_is_stored_with_its_id_size_and_url(
    instance, sim, django_capture_on_commit_callbacks
):
    webhook_endpoints.create(
        audit.PYTHON, url="https://hooks.example.com/in", events=["message.received"]
    )
    HEARD.clear()
    signals.message_received.connect(hook)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            inbound = receive(instance, sim, JPEG, "image/jpeg", caption="the parcel")
        assert not WebhookDelivery.objects.exists() and HEARD == []  # its file is not here yet
        with django_capture_on_commit_callbacks(execute=True):
            inbound_media.run(InboundMedia.objects.get(inbound=inbound).pk)
    finally:
        signals.message_received.disconnect(hook)
    heard = HEARD
    data = json.loads(WebhookDelivery.objects.get().body)["data"]
    assert data["text"] == "the parcel" and heard == [inbound.pk]
    media = data["media"]
    assert (media["type"], media["size"], media["state"]) == ("image", len(JPEG), "done")
    assert media["id"] and media["url"].endswith(f"{media['id']}")


def test_a_received_file_given_up_is_still_announced(instance, sim):
    webhook_endpoints.create(
        audit.PYTHON, url="https://hooks.example.com/in", events=["message.received"]
    )
    inbound = receive(instance, sim, PDF, "application/pdf", "document")
    row = InboundMedia.objects.get(inbound=inbound)
    InboundMedia.objects.filter(pk=row.pk).update(
        state=WorkState.RUNNING,
        attempts=inbound_media.MAX_ATTEMPTS,
        lease_expires_at=timezone.now() - timedelta(seconds=1),
    )
    inbound_media.sweep(timezone.now())
    media = json.loads(WebhookDelivery.objects.get().body)["data"]["media"]
    assert media["state"] == "failed" and media["url"] is None
