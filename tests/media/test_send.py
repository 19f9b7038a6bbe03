"""Sending each type: dispatch, claim and one gateway call against the simulator, the same
outcome rules as text, reconciliation that recognises files, pacing over every kind."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone, translation

from tests.media.samples import JPEG, MP3, MP4, OGG, PDF
from tests.messages.conftest import UNPACED, connect, phone
from whatsapp import api
from whatsapp.conf import conf
from whatsapp.models import Instance, MessageAttempt, OutboundMessage
from whatsapp.queues import MESSAGES, TIME_LIMITS
from whatsapp.services import dispatch, media_store, outgoing, reconcile, send, transitions
from whatsapp.tasks import messages as message_tasks

pytestmark = pytest.mark.django_db
GROUP = "120363012345678901@g.us"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def instance(make_instance, sim, rung):
    instance = make_instance("main", **UNPACED)
    connect(sim, instance)
    return instance


def send_now(instance, message) -> str:
    result = dispatch.dispatch_instance(instance.pk)
    assert message.pk in result.claimed and result.token is not None, result
    outcome = send.send(message.pk, result.token)
    assert outcome is not None
    return outcome.status


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("to", [phone(1), GROUP], ids=["person", "group"])
def test_every_type_reaches_the_gateway_once_on_its_route(instance, sim, to):
    cases = [
        (api.send_media(to, JPEG, caption="photo"), "send-file-base64", "image", JPEG),
        (api.send_media(to, MP4, caption="clip"), "send-file-base64", "video", MP4),
        (api.send_media(to, MP3, kind="audio"), "send-file-base64", "audio", MP3),
        (api.send_media(to, OGG, kind="voice"), "send-voice-base64", "ptt", OGG),
        (
            api.send_media(to, PDF, filename="a.pdf", caption="doc"),
            "send-file-base64",
            "document",
            PDF,
        ),
        (api.send_location(to, -22.9, -43.2, name="Depot"), "send-location", "location", None),
        (api.send_contact(to, "Ana", "+5521988887777"), "contact-vcard", "vcard", None),
        (api.send_text(to, "words"), "send-message", "chat", None),
    ]
    for message, _route, _type, _data in cases:
        assert send_now(instance, message) == "sent", message.last_error
    ledger = sim.ledger()
    assert len(ledger) == len(cases)
    for (message, route, kind, data), entry in zip(cases, ledger, strict=True):
        message.refresh_from_db()
        assert (entry["route"], entry["type"], entry["to"]) == (
            route,
            kind,
            to if to == GROUP else f"{to}@c.us",
        )
        assert entry["id"] == message.gateway_message_id
        assert entry["is_group"] is (to == GROUP)
        if data is not None:
            assert entry["sha256"] == sha(data) and entry["size"] == len(data)
        if message.kind in ("image", "video", "document"):
            assert entry["caption"] == message.body
    document = next(e for e in ledger if e["type"] == "document")
    assert (document["filename"], document["caption"]) == ("a.pdf", "doc")
    location = next(e for e in ledger if e["type"] == "location")
    assert (location["lat"], location["lng"]) == (-22.9, -43.2)


def test_a_reply_to_ours_waits_for_it_then_quotes_its_gateway_id(instance, sim):
    original = api.send_text(phone(1), "question")
    reply = api.send_media(phone(2), PDF, caption="answer", reply_to=original.pk)
    result = dispatch.dispatch_instance(instance.pk)
    assert set(result.claimed) == {original.pk, reply.pk}
    assert send.send(reply.pk, result.token).status == "queued"  # original not sent yet
    reply.refresh_from_db()
    assert reply.attempts == 0 and "replies to" in reply.last_error
    assert not MessageAttempt.objects.filter(message=reply).exists()
    assert send.send(original.pk, result.token).status == "sent"
    OutboundMessage.objects.filter(pk=reply.pk).update(next_attempt_at=None)
    assert send_now(instance, reply) == "sent"
    original.refresh_from_db()
    [entry] = sim.ledger(message="answer")
    assert entry["quoted"] == original.gateway_message_id


def test_a_reply_to_an_inbound_message_carries_its_id(instance, sim):
    inbound = sim.incoming(instance.session_name, phone(3), "where is my parcel?")
    reply = api.send_text(phone(3), "on its way", reply_to=inbound["id"])
    assert send_now(instance, reply) == "sent"
    [entry] = sim.ledger(message="on its way")
    assert entry["route"] == "send-reply" and entry["quoted"] == inbound["id"]


def test_a_file_that_is_gone_fails_without_calling_the_gateway(instance, sim):
    message = api.send_media(phone(1), b"%PDF-1.4\n" + b"gone" * 100)
    media_store.storage().delete(message.media.storage_name)
    assert send_now(instance, message) == "failed"
    message.refresh_from_db()
    assert "no longer stored" in message.last_error
    assert MessageAttempt.objects.get(message=message).outcome == "rejected"
    assert sim.ledger() == [] and sim.calls(instance.session_name).get("send-file-base64") is None


def test_a_null_answer_after_a_send_is_unknown_and_reconciled_never_resent(instance, sim):
    message = api.send_media(phone(1), JPEG, caption="null answer")
    api.send_media(phone(1), JPEG, caption="another")  # same file, other caption: no match
    sim.set_fault("send-file-base64", null_rate=1.0)
    assert send_now(instance, message) == "unknown"
    sim.clear_faults()
    assert reconcile.reconcile(message.pk)[0] == "found: sent"
    message.refresh_from_db()
    assert message.status == "sent" and message.gateway_message_id
    assert len(sim.ledger(message="null answer")) == 1


@pytest.mark.parametrize("kind", ["document", "location", "contact"])
def test_a_dropped_answer_is_reconciled_by_content_without_a_duplicate(instance, sim, kind):
    make = {
        "document": lambda: api.send_media(phone(1), PDF, filename="r.pdf"),
        "location": lambda: api.send_location(phone(1), 10.5, 20.25),
        "contact": lambda: api.send_contact(phone(1), "Bia", "+5521977776666"),
    }[kind]
    message = make()
    route = {
        "document": "send-file-base64",
        "location": "send-location",
        "contact": "contact-vcard",
    }
    sim.set_fault(route[kind], drop_rate=1.0)
    assert send_now(instance, message) == "unknown"
    sim.clear_faults()
    assert reconcile.reconcile(message.pk)[0] == "found: sent"
    assert len(sim.ledger()) == 1
    message.refresh_from_db()
    assert message.gateway_message_id == sim.ledger()[0]["id"]


def test_a_file_the_gateway_cannot_read_fails_for_good(instance, sim):
    message = api.send_media(phone(1), PDF)
    sim.set_fault("send-file-base64", error_rate=1.0)
    # What the server answers for a data URL it cannot read (companion §2.1).
    from whatsapp.simulator import faults

    original = faults.ERROR_BODIES["send-file-base64"]
    faults.ERROR_BODIES["send-file-base64"] = {**original, "error": "invalid_data_url"}
    try:
        assert send_now(instance, message) == "failed"
    finally:
        faults.ERROR_BODIES["send-file-base64"] = original
    assert MessageAttempt.objects.get(message=message).outcome == "rejected"


def test_pacing_counts_every_kind_in_one_budget(instance, sim):
    Instance.objects.filter(pk=instance.pk).update(cap_per_minute=2)
    image = api.send_media(phone(1), JPEG)
    place = api.send_location(phone(2), 1.0, 2.0)
    card = api.send_contact(phone(3), "Ana", "+5521988887777")
    result = dispatch.dispatch_instance(instance.pk)
    assert set(result.claimed) == {image.pk, place.pk}
    for pk in result.claimed:
        send.send(pk, result.token)
    capped = dispatch.dispatch_instance(instance.pk)
    assert capped.claimed == [] and capped.wake_in > 50
    assert OutboundMessage.objects.get(pk=card.pk).status == "queued"


def test_a_files_read_timeout_task_limits_and_lease_grow_with_its_size(instance, monkeypatch):
    assert outgoing.budget(0) == outgoing.Budget(None, *TIME_LIMITS[MESSAGES])
    sixteen = outgoing.budget(16 * 1024 * 1024)
    assert sixteen.read_timeout == pytest.approx(conf.READ_TIMEOUT + 64)
    assert sixteen.hard_limit > sixteen.read_timeout + conf.CONNECT_TIMEOUT
    assert outgoing.budget(10**12).hard_limit == outgoing.MAX_HARD_LIMIT
    big = api.send_media(phone(1), PDF)
    big.media.size = 16 * 1024 * 1024
    big.media.save(update_fields=["size"])
    text = api.send_text(phone(2), "small")
    published = []
    monkeypatch.setattr(
        message_tasks.doorbell,
        "publish",
        lambda name, args, **options: published.append((args[0], options.get("time_limits"))),
    )
    result = dispatch.dispatch_instance(instance.pk)
    message_tasks.publish_sends(result.claimed, result.token)
    limits = dict(published)
    assert limits[str(text.pk)] is None
    assert limits[str(big.pk)] == (sixteen.soft_limit, sixteen.hard_limit)
    claimed = send.claim(big.pk, result.token, timezone.now())
    assert claimed is not None
    lease = OutboundMessage.objects.get(pk=big.pk).lease_expires_at
    assert lease - timezone.now() > timedelta(seconds=sixteen.hard_limit)


def test_a_message_waiting_for_its_file_keeps_later_ones_to_the_same_person_back(instance):
    document = api.send_media(phone(1), url="https://files.example.com/a.pdf", kind="document")
    later = api.send_text(phone(1), "see the document above")
    other = api.send_text(phone(2), "unrelated")
    claimed = dispatch.dispatch_instance(instance.pk).claimed
    assert claimed == [other.pk]
    OutboundMessage.objects.filter(pk=document.pk).update(awaiting_media=False)
    assert dispatch.dispatch_instance(instance.pk).claimed == [document.pk]
    assert later.pk not in claimed


@pytest.mark.django_db(transaction=True)
def test_a_sends_outcome_and_the_next_gap_become_visible_together(make_instance, sim, rung):
    """A dispatcher that sees a send finished must also see when the next may start: a file's
    send that outlasted the gap set at dispatch would otherwise let another start at once."""
    instance = make_instance(
        "main",
        min_gap_seconds=5,
        max_gap_seconds=5,
        cap_per_minute=0,
        cap_per_hour=0,
        cap_per_day=0,
    )
    connect(sim, instance)
    message = api.send_media(phone(1), PDF)
    result = dispatch.dispatch_instance(instance.pk)
    assert result.token is not None
    Instance.objects.filter(pk=instance.pk).update(next_send_at=None)  # the gap ran out mid-send
    seen = []

    def on_sent(message_id, old, new):
        if new == "sent":
            transaction.on_commit(
                lambda: seen.append(Instance.objects.get(pk=instance.pk).next_send_at)
            )

    transitions.on_change(on_sent)
    try:
        assert send.send(message.pk, result.token).status == "sent"
    finally:
        transitions.remove_listener(on_sent)
    assert seen and seen[0] is not None and seen[0] > timezone.now() + timedelta(seconds=4)
