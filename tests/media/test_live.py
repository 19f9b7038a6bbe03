"""Acceptance on the real stack: web, Celery workers, Redis, PostgreSQL, the simulator.

One run sends every type through the Python API and through REST, to people and to groups, with
the replies among them: each must reach the simulator's ledger once, on its route, with its
file's SHA-256, caption and name, and be read. The rest are the faults of a file's life.
"""

from __future__ import annotations

import hashlib

import pytest
import requests
from django.conf import settings
from django.utils import translation

from tests.live import wait_until
from tests.media.samples import JPEG, MP3, MP4, OGG, PDF, PNG, b64
from tests.messages.conftest import UNPACED, connect, phone
from whatsapp import api
from whatsapp.models import ApiKey, InboundMedia, InboundMessage, OutboundMessage
from whatsapp.models.media import WorkState
from whatsapp.services import media_fetch

pytestmark = [
    pytest.mark.live,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("quiet_live_workers"),
]


@pytest.fixture
def stack(live, sim, make_instance):
    instance = make_instance("main", **UNPACED)
    connect(sim, instance, live["url"])
    _row, key = ApiKey.create("media-live")
    return instance, live["url"], {"Authorization": f"Bearer {key}"}


def group(n: int) -> str:
    return f"1203630123456{n:05d}@g.us"


def rest(url: str, headers: dict, body: dict) -> dict:
    response = requests.post(f"{url}/api/v1/messages", json=body, headers=headers, timeout=20)
    assert response.status_code == 201, response.text
    return response.json()


def settle(ids: list, status: str | tuple[str, ...], timeout: float) -> None:
    statuses = (status,) if isinstance(status, str) else status
    ok = wait_until(
        lambda: OutboundMessage.objects.filter(pk__in=ids, status__in=statuses).count() == len(ids),
        timeout=timeout,
        interval=0.2,
    )
    states = list(
        OutboundMessage.objects.filter(pk__in=ids).values_list("kind", "status", "last_error")
    )
    assert ok, states


def test_every_type_python_and_rest_person_and_group_reaches_the_ledger_once_and_is_read(
    stack, sim, files
):
    _instance, url, headers = stack
    sim.set_acks(delivered_after=0.3, read_after=0.6)
    upload = requests.post(
        f"{url}/api/v1/media", files={"file": ("clip.mp4", MP4)}, headers=headers, timeout=20
    )
    assert upload.status_code == 201, upload.text
    served = files.serve("/track.mp3", MP3)
    inbound = sim.incoming(_instance.session_name, phone(90), "a question")
    # (message id, expected route, the file's bytes or None, caption, filename)
    sent: list[tuple[str, str, bytes | None, str, str]] = []
    for n, to in enumerate([phone(1), group(1)]):
        base = len(sent)
        m = api.send_media(to, JPEG, caption=f"py image {n}")
        sent.append((m.pk, "send-file-base64", JPEG, f"py image {n}", m.filename))
        m = api.send_media(to, PDF, filename=f"py-{n}.pdf", caption=f"py doc {n}")
        sent.append((m.pk, "send-file-base64", PDF, f"py doc {n}", f"py-{n}.pdf"))
        m = api.send_media(to, OGG, kind="voice")
        sent.append((m.pk, "send-voice-base64", OGG, "", ""))
        m = api.send_location(to, -22.9 - n, -43.2, name="Depot")
        sent.append((m.pk, "send-location", None, "", ""))
        m = api.send_contact(to, "Ana", "+5521988887777")
        sent.append((m.pk, "contact-vcard", None, "", ""))
        m = api.send_text(to, f"py reply {n}", reply_to=sent[base][0])
        sent.append((m.pk, "send-reply", None, "", ""))
        to = phone(2) if n == 0 else group(2)
        body = {
            "to": to,
            "type": "video",
            "media_id": upload.json()["id"],
            "caption": f"rest video {n}",
        }
        sent.append(
            (rest(url, headers, body)["id"], "send-file-base64", MP4, f"rest video {n}", "clip.mp4")
        )
        body = {"to": to, "type": "image", "media_base64": b64(PNG), "caption": f"rest png {n}"}
        sent.append((rest(url, headers, body)["id"], "send-file-base64", PNG, f"rest png {n}", ""))
        body = {"to": to, "type": "audio", "media_url": served}
        sent.append((rest(url, headers, body)["id"], "send-file-base64", MP3, "", "track.mp3"))
        body = {"to": to, "location": {"latitude": 1.5 + n, "longitude": 2.5}}
        sent.append((rest(url, headers, body)["id"], "send-location", None, "", ""))
        body = {"to": to, "contact": {"name": "Bia", "phones": ["+5521977776666"]}}
        sent.append((rest(url, headers, body)["id"], "contact-vcard", None, "", ""))
        body = {"to": to, "text": f"rest reply {n}", "reply_to": inbound["id"]}
        sent.append((rest(url, headers, body)["id"], "send-reply", None, "", ""))
    settle([s[0] for s in sent], "read", timeout=90)

    ledger = {entry["id"]: entry for entry in sim.ledger()}
    assert len(sim.ledger()) == len(sent) == len(ledger)  # once each
    for ident, route, data, caption, filename in sent:
        message = OutboundMessage.objects.get(pk=ident)
        entry = ledger[message.gateway_message_id]
        assert entry["route"] == route, (message.kind, entry)
        assert entry["is_group"] is message.recipient.endswith("@g.us")
        if data is not None:
            assert entry["sha256"] == hashlib.sha256(data).hexdigest(), message.kind
            assert entry["caption"] == caption
            if filename:
                assert entry["filename"] == filename
    quoted = {
        ledger[OutboundMessage.objects.get(pk=s[0]).gateway_message_id]["quoted"]
        for s in sent
        if s[1] == "send-reply"
    }
    ours = {
        OutboundMessage.objects.get(pk=sent[0][0]).gateway_message_id,
        OutboundMessage.objects.get(pk=sent[12][0]).gateway_message_id,
    }
    assert quoted == ours | {inbound["id"]}
    assert files.hits.count("/track.mp3") == 2  # one fetch per request that named it


def test_a_media_send_whose_answer_is_lost_is_reconciled_without_a_duplicate(stack, sim):
    sim.set_fault("send-file-base64", drop_rate=1.0)
    message = api.send_media(phone(3), PDF, caption="dropped after acceptance")
    assert wait_until(
        lambda: OutboundMessage.objects.get(pk=message.pk).status == "unknown", timeout=20
    )
    sim.clear_faults()
    # Its acks came while its id was unknown, so "sent" (reconciled) is as far as it gets.
    settle([message.pk], ("sent", "delivered", "read"), timeout=30)
    assert len(sim.ledger(message="dropped after acceptance")) == 1


def test_a_media_url_too_big_or_too_slow_fails_its_message_with_the_reason(stack, sim, files):
    big = files.serve("/big.jpg", b"\xff\xd8\xff" + b"x" * (6 * 1024 * 1024))
    slow = files.serve("/slow.pdf", PDF, chunk=200, pause=0.5)
    too_big = api.send_media(phone(4), url=big, kind="image")
    too_slow = api.send_media(phone(5), url=slow, kind="document")
    settle([too_big.pk, too_slow.pk], "failed", timeout=30)
    # The workers write the reason in the server's language.
    with translation.override(settings.LANGUAGE_CODE):
        expected = {
            too_big.pk: media_fetch.reason("too_big", "image"),
            too_slow.pk: media_fetch.reason("timeout", "document"),
        }
    for pk, reason in expected.items():
        assert OutboundMessage.objects.get(pk=pk).last_error == reason
    assert sim.ledger() == []


def test_an_inbound_image_is_stored_and_served_only_with_a_key(stack, sim):
    instance, url, headers = stack
    msg = sim.incoming(
        instance.session_name, phone(6), media_base64=b64(JPEG), mimetype="image/jpeg", type="image"
    )
    assert wait_until(
        lambda: InboundMedia.objects.filter(
            inbound__gateway_id=msg["id"], state=WorkState.DONE
        ).exists(),
        timeout=30,
    )
    inbound = InboundMessage.objects.get(gateway_id=msg["id"])
    media = InboundMedia.objects.get(inbound=inbound).file
    assert media.sha256 == hashlib.sha256(JPEG).hexdigest()
    download = f"{url}/api/v1/media/{media.pk}"
    assert requests.get(download, timeout=10).status_code == 401
    answer = requests.get(download, headers=headers, timeout=10)
    assert answer.status_code == 200 and answer.content == JPEG
