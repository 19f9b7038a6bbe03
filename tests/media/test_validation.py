"""Every type of message is checked before anything is written: bad input names its field and
its reason, and leaves no row and no file. Python and REST answer the same."""

from __future__ import annotations

import hashlib
import json
import os

import pytest
from django.utils import translation

from tests.media.samples import EXE, JPEG, MP3, MP4, OGG, PDF, PNG, TEXT, b64
from tests.messages.conftest import phone
from whatsapp import api
from whatsapp.models import MediaFetch, MediaFile, OutboundMessage
from whatsapp.models.media import storage_name
from whatsapp.services import media_store

pytestmark = pytest.mark.django_db
GROUP = "120363012345678901@g.us"


@pytest.fixture(autouse=True)
def _english_and_no_broker(rung):
    with translation.override("en"):
        yield


@pytest.fixture
def instance(make_instance):
    return make_instance("main")


def post(api_client, body: dict, **headers):
    return api_client.post(
        "/api/v1/messages", data=json.dumps(body), content_type="application/json", **headers
    )


def fresh_jpeg() -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + os.urandom(300)


def stored(data: bytes) -> bool:
    return media_store.storage().exists(storage_name(hashlib.sha256(data).hexdigest()))


@pytest.mark.parametrize(
    ("data", "kind", "mime"),
    [
        (JPEG, "image", "image/jpeg"),
        (PNG, "image", "image/png"),
        (MP4, "video", "video/mp4"),
        (MP3, "audio", "audio/mpeg"),
        (PDF, "document", "application/pdf"),
        (TEXT, "document", "text/plain"),
    ],
)
def test_the_kind_is_read_from_the_bytes_when_not_given(instance, data, kind, mime):
    message = api.send_media(phone(1), data, caption="x" if kind != "audio" else None)
    assert message.kind == kind and message.media.mime_type == mime
    assert message.media.sha256 == hashlib.sha256(data).hexdigest()
    assert stored(data)


def test_each_type_is_stored_with_its_fields(instance):
    image = api.send_media(GROUP, JPEG, kind="image", caption="parcel")
    voice = api.send_media(phone(1), OGG, kind="voice")
    document = api.send_media(phone(1), PDF, filename="invoice.pdf", caption="your invoice")
    place = api.send_location(phone(1), -22.9, -43.2, name="Depot", address="Rua A, 1")
    card = api.send_contact(phone(1), "Ana", "+55 21 98888-7777")
    reply = api.send_text(phone(1), "yes", reply_to=document.pk)
    quoted = api.send_text(phone(1), "ok", reply_to="false_5521987000001@c.us_3EB0AB12CD34")
    assert (image.recipient, image.kind, image.body) == (GROUP, "image", "parcel")
    assert (voice.kind, voice.body) == ("voice", "")
    assert (document.filename, document.body) == ("invoice.pdf", "your invoice")
    assert place.content == {
        "latitude": -22.9,
        "longitude": -43.2,
        "name": "Depot",
        "address": "Rua A, 1",
    }
    assert card.content == {"name": "Ana", "phones": ["5521988887777"]}
    assert reply.reply_to_id == document.pk and quoted.quoted_id.startswith("false_")
    assert OutboundMessage.objects.count() == 7


BAD = [
    ({"type": "image", "media_base64": "not base64!"}, "media_base64", "base64"),
    ({"type": "image", "media_base64": b64(PDF)}, "media_base64", "not an allowed type"),
    ({"type": "document", "media_base64": b64(EXE)}, "media_base64", "not an allowed type"),
    ({"type": "voice", "media_base64": b64(JPEG)}, "media_base64", "not an allowed type"),
    ({"type": "image", "media_base64": ""}, "media_id", "once"),
    (
        {"type": "image", "media_base64": b64(JPEG), "media_url": "https://x.test/a"},
        "media_url",
        "once",
    ),
    ({"type": "image", "media_base64": "A" * 2_000_000}, "media_base64", "1 MB"),
    ({"type": "image", "media_id": "0b8d2a34-0000-0000-0000-000000000000"}, "media_id", "no such"),
    ({"type": "document", "media_url": "ftp://files.test/a.pdf"}, "media_url", "http"),
    ({"type": "document", "media_url": "http://user:pw@files.test/a.pdf"}, "media_url", "http"),
    ({"media_url": "https://files.test/a.pdf"}, "type", "media_url"),
    ({"type": "audio", "media_base64": b64(MP3), "caption": "hi"}, "caption", "does not use"),
    ({"type": "image", "media_base64": b64(JPEG), "text": "hi"}, "text", "does not use"),
    (
        {"type": "image", "media_base64": b64(JPEG), "filename": "../etc/passwd"},
        "filename",
        "folders",
    ),
    ({"type": "image", "media_base64": b64(JPEG), "caption": "x\x00"}, "caption", "NUL"),
    ({"type": "video", "media_base64": b64(MP4), "caption": "x" * 1025}, "caption", "too long"),
    ({"type": "sticker", "media_base64": b64(JPEG)}, "type", "Use one of"),
    (
        {"type": "location", "location": {"latitude": 91, "longitude": 0}},
        "location.latitude",
        "-90",
    ),
    ({"location": {"latitude": 0, "longitude": -181}}, "location.longitude", "-180"),
    ({"location": {"latitude": True, "longitude": 0}}, "location.latitude", "number"),
    ({"location": {"latitude": "1", "longitude": 0}}, "location.latitude", "number"),
    ({"location": {"longitude": 0}}, "location.latitude", "number"),
    ({"location": {"latitude": 0, "longitude": 0, "zoom": 3}}, "location.zoom", "not known"),
    ({"location": [1, 2]}, "location", "object"),
    (
        {"contact": {"name": "Ana", "phones": ["+5521988887777", "+5521977776666"]}},
        "contact.phones",
        "one phone",
    ),
    ({"contact": {"name": " ", "phones": ["+5521988887777"]}}, "contact.name", "name"),
    ({"contact": {"name": "Ana", "phones": ["12"]}}, "contact.phones", "number"),
    (
        {
            "location": {"latitude": 0, "longitude": 0},
            "reply_to": "false_5521987000001@c.us_3EB0AB12",
        },
        "reply_to",
        "cannot",
    ),
    ({"text": "hi", "reply_to": "7c3e0000-0000-0000-0000-000000000000"}, "reply_to", "no such"),
    ({"text": "hi", "reply_to": "not an id"}, "reply_to", "id"),
    ({"text": "hi", "caption": "stray"}, "caption", "does not use"),
    ({"text": "hi", "to": "123@g.us"}, "to", "group"),
]


@pytest.mark.parametrize(("extra", "field", "reason"), BAD, ids=[f"{f}:{r}" for _e, f, r in BAD])
def test_bad_input_names_the_field_and_the_reason_and_writes_nothing(
    api_client, instance, extra, field, reason
):
    before = MediaFile.objects.count()
    response = post(api_client, {"to": phone(1), **extra})
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert field in errors, errors
    assert reason.lower() in " ".join(errors[field]).lower(), errors
    assert not OutboundMessage.objects.exists()
    assert MediaFile.objects.count() == before and not MediaFetch.objects.exists()


def test_a_refused_file_is_not_stored(api_client, instance, whatsapp_conf):
    whatsapp_conf.MEDIA_MAX_BYTES = {**whatsapp_conf.MEDIA_MAX_BYTES, "image": 100}
    data = fresh_jpeg()
    response = post(api_client, {"to": phone(1), "type": "image", "media_base64": b64(data)})
    assert response.status_code == 400
    assert "too big" in response.json()["errors"]["media_base64"][0]
    assert not stored(data) and not MediaFile.objects.exists()
    with pytest.raises(api.MessageValidationError) as caught:
        api.send_media("12", data)  # a bad number: the file is checked, and not kept either
    assert set(caught.value.errors) == {"to", "file"}
    assert not stored(data)


def test_python_and_rest_give_the_same_reasons(api_client, instance):
    body = {"to": phone(1), "type": "location", "location": {"latitude": 95, "longitude": 200}}
    rest = post(api_client, body).json()["errors"]
    # A request through the test client leaves its language active: say which one to use.
    with translation.override("en"), pytest.raises(api.MessageValidationError) as caught:
        api.send_location(phone(1), 95, 200)
    assert caught.value.errors == rest
    rest = post(api_client, {"to": phone(1), "type": "voice", "media_base64": b64(PDF)}).json()
    with translation.override("en"), pytest.raises(api.MessageValidationError) as caught:
        api.send_media(phone(1), PDF, kind="voice")
    assert caught.value.errors["file"] == rest["errors"]["media_base64"]


def test_a_coordinate_with_thousands_of_digits_is_refused_without_converting_it(instance):
    with pytest.raises(api.MessageValidationError) as caught:
        api.send_location(phone(1), 10**5000, -(10**5000))
    assert set(caught.value.errors) == {"location.latitude", "location.longitude"}
    assert "4300" not in str(caught.value.errors)


def test_a_reply_to_a_message_that_was_never_sent_is_refused(api_client, instance):
    failed = api.send_text(phone(1), "x")
    OutboundMessage.objects.filter(pk=failed.pk).update(status="failed")
    with pytest.raises(api.MessageValidationError) as caught:
        api.send_text(phone(1), "re", reply_to=failed.pk)
    assert "never sent" in caught.value.errors["reply_to"][0]


def test_the_same_key_with_another_file_is_a_conflict_and_with_the_same_a_replay(
    api_client, instance
):
    body = {"to": phone(1), "type": "image", "media_base64": b64(JPEG), "caption": "a"}
    first = post(api_client, body, HTTP_IDEMPOTENCY_KEY="img-1")
    again = post(api_client, body, HTTP_IDEMPOTENCY_KEY="img-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and first.json()["id"] == again.json()["id"]
    other = post(api_client, {**body, "media_base64": b64(PNG)}, HTTP_IDEMPOTENCY_KEY="img-1")
    assert other.status_code == 422


def test_a_message_json_carries_its_type_file_and_recipient_type(api_client, instance):
    created = post(
        api_client,
        {"to": GROUP, "type": "document", "media_base64": b64(PDF), "filename": "a.pdf",
         "caption": "see", "reply_to": "false_5521987000001@c.us_3EB0AB12CD34"},
    )  # fmt: skip
    assert created.status_code == 201, created.content
    data = created.json()
    assert (data["type"], data["recipient_type"], data["text"]) == ("document", "group", "")
    assert (data["caption"], data["filename"]) == ("see", "a.pdf")
    assert data["media"]["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert data["media"]["mime_type"] == "application/pdf" and data["media"]["size"] == len(PDF)
    assert data["reply_to"].startswith("false_")
    text = post(api_client, {"to": phone(2), "text": "plain"}).json()
    assert "type" not in text and "recipient_type" not in text and "media" not in text


def test_one_file_for_a_hundred_recipients_is_stored_once(api_client, instance):
    data = fresh_jpeg()
    items = [{"to": phone(n), "type": "image", "media_base64": b64(data)} for n in range(100)]
    response = api_client.post(
        "/api/v1/messages/batch",
        data=json.dumps({"messages": items}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert OutboundMessage.objects.filter(media__isnull=False).count() == 100
    assert MediaFile.objects.filter(sha256=hashlib.sha256(data).hexdigest()).count() == 1
    upload = api.upload_media(data)
    for n in range(100, 110):
        api.send_media(phone(n), upload)
    assert OutboundMessage.objects.filter(media=upload).count() == 110
    assert MediaFile.objects.count() == 1


def test_a_url_makes_one_fetch_per_batch_and_the_messages_wait(api_client, instance, rung):
    url = "https://files.example.com/invoice.pdf?signature=abc"
    items = [{"to": phone(n), "type": "document", "media_url": url} for n in range(3)]
    response = api_client.post(
        "/api/v1/messages/batch",
        data=json.dumps({"messages": items}),
        content_type="application/json",
    )
    assert response.status_code == 201
    (fetch,) = MediaFetch.objects.all()
    assert fetch.url == url and fetch.kind == "document"
    assert set(OutboundMessage.objects.values_list("awaiting_media", "media_fetch")) == {
        (True, fetch.pk)
    }
    assert rung.args_of("whatsapp.media.fetch") == [str(fetch.pk)]
    assert all(m["media"] is None for m in (r["message"] for r in response.json()["results"]))


def test_the_command_sends_a_file_with_its_caption(instance, tmp_path):
    from django.core.management import CommandError, call_command

    path = tmp_path / "nota-fiscal.pdf"
    path.write_bytes(PDF)
    call_command("whatsapp_send", phone(1), "--file", str(path), "--caption", "your invoice")
    message = OutboundMessage.objects.get()
    assert (message.kind, message.body, message.filename) == (
        "document",
        "your invoice",
        "nota-fiscal.pdf",
    )
    assert message.media.sha256 == hashlib.sha256(PDF).hexdigest()
    with pytest.raises(CommandError) as caught:
        call_command("whatsapp_send", phone(1), "--file", str(path), "--kind", "image")
    assert caught.value.returncode == 2 and str(caught.value).startswith("file:")
    with pytest.raises(CommandError) as caught:
        call_command("whatsapp_send", phone(1), "--file", str(tmp_path / "missing.pdf"))
    assert "no file" in str(caught.value)


def test_emoji_and_right_to_left_text_are_kept_in_captions_names_and_places(api_client, instance):
    caption = "Entregue 📦✅ — تم التسليم"
    body = {
        "to": phone(1),
        "type": "document",
        "media_base64": b64(PDF),
        "caption": caption,
        "filename": "فاتورة-📄.pdf",
    }
    created = post(api_client, body)
    assert created.status_code == 201, created.content
    assert (created.json()["caption"], created.json()["filename"]) == (caption, "فاتورة-📄.pdf")
    place = api.send_location(phone(2), 0, 0, name="מחסן 🏭", address="Rua Ç, 1")
    assert place.content["name"] == "מחסן 🏭"
    deep = post(api_client, {"to": phone(3), "location": {"latitude": 1, "longitude": 1}})
    assert deep.status_code == 201
    nested = api_client.post(
        "/api/v1/messages",
        data='{"to": "' + phone(4) + '", "location": ' + '{"a":' * 1000 + "1" + "}" * 1001,
        content_type="application/json",
    )
    assert nested.status_code == 400 and OutboundMessage.objects.count() == 3


def test_an_unknown_type_is_the_only_reason_given(api_client, instance):
    response = post(api_client, {"to": phone(1), "type": "poll", "text": "hi"})
    assert response.json()["errors"].keys() == {"type"}


def test_messages_to_a_group_can_be_listed_by_its_id(api_client, instance):
    api.send_text(GROUP, "to the group")
    api.send_text(phone(1), "to a person")
    listed = api_client.get("/api/v1/messages", {"recipient": GROUP}).json()["results"]
    assert [m["text"] for m in listed] == ["to the group"]
    assert [m.body for m in api.list_messages(recipient=GROUP).results] == ["to the group"]


def test_send_media_takes_bytes_a_path_a_file_object_and_a_django_file(instance, tmp_path):
    import io

    from django.core.files import File
    from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile

    path = tmp_path / "photo.jpg"
    path.write_bytes(JPEG)
    temporary = TemporaryUploadedFile("upload.jpg", "image/jpeg", len(JPEG), None)
    temporary.write(JPEG)
    sources = [
        JPEG,
        path,
        str(path),
        io.BytesIO(JPEG),
        path.open("rb"),
        File(io.BytesIO(JPEG), name="from-django.jpg"),
        SimpleUploadedFile("simple.jpg", JPEG),
        temporary,
    ]
    for n, source in enumerate(sources):
        message = api.send_media(phone(n), source, caption=f"n{n}")
        assert (message.kind, message.media.sha256) == ("image", hashlib.sha256(JPEG).hexdigest())
    assert MediaFile.objects.count() == 1
    assert OutboundMessage.objects.get(body="n1").filename == "photo.jpg"
    with pytest.raises(api.MessageValidationError) as caught:
        api.send_media(phone(1), 42)  # type: ignore[arg-type]
    assert "file" in caught.value.errors
