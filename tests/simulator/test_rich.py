"""The simulator's rich routes answer as the companion contract says the server does."""

from __future__ import annotations

import base64
import hashlib

import pytest
import requests

# A 1x1 PNG and a minimal PDF: real magic numbers, as the product sniffs them.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
OGG = b"OggS\x00\x02" + b"\x00" * 60


def data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("send-file-base64", {"base64": data_url(PNG, "image/png")}),
        ("send-voice-base64", {"base64Ptt": data_url(OGG, "audio/ogg")}),
        ("send-location", {"lat": 1, "lng": 2}),
        ("contact-vcard", {"contactsId": "5521988887777@c.us", "name": "Ana"}),
        ("send-reply", {"message": "hi", "messageId": "x"}),
        ("download-media", {"messageId": "x"}),
    ],
)
def test_every_rich_route_is_behind_the_connected_gate(sim, api, route, body):
    response = api.post(route, {"phone": "5521999999999", **body})
    assert response.status_code == 404
    assert response.json()["status"] == "Disconnected"


def test_a_file_as_a_data_url_is_sent_with_its_name_caption_and_quote(sim, api):
    api.connect()
    first = api.send("5521999999999", "original").json()["response"][0]
    response = api.post(
        "send-file-base64",
        {
            "phone": "5521999999999",
            "isGroup": False,
            "base64": data_url(PDF, "application/pdf"),
            "filename": "invoice.pdf",
            "caption": "your invoice",
            "quotedMessageId": first["id"],
            "options": {"type": "document"},
        },
    )
    assert response.status_code == 201
    [answer] = response.json()["response"]
    assert set(answer) == {"ack", "id"}  # send-file answers {ack, id} only (§1.8)
    [entry] = sim.ledger(message="your invoice")
    assert entry["route"] == "send-file-base64" and entry["type"] == "document"
    assert entry["filename"] == "invoice.pdf" and entry["caption"] == "your invoice"
    assert entry["size"] == len(PDF) and entry["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert entry["quoted"] == first["id"] and entry["id"] == answer["id"]


def test_send_file_base64_refuses_raw_base64_and_data_urls_with_parameters(sim, api):
    api.connect()
    raw = api.post(
        "send-file-base64",
        {"phone": "5521999999999", "base64": base64.b64encode(PNG).decode()},
    )
    assert raw.status_code == 500
    assert raw.json()["error"] == {"code": "empty_file", "level": "error"}
    params = api.post(
        "send-file-base64",
        {"phone": "5521999999999", "base64": "data:image/png; charset=x;base64,AAAA"},
    )
    assert params.status_code == 500 and params.json()["error"] == "invalid_data_url"
    nothing = api.post("send-file-base64", {"phone": "5521999999999"})
    assert nothing.status_code == 401
    assert nothing.json()["message"] == "Sending the file is mandatory"
    assert sim.ledger() == []


def test_a_group_gets_the_group_id_and_the_string_false_still_means_a_group(sim, api):
    api.connect()
    group = "120363012345678901@g.us"
    body = {"phone": group, "isGroup": True, "base64": data_url(PNG, "image/png")}
    sent = api.post("send-file-base64", body).json()["response"][0]
    assert sent["id"].startswith(f"true_{group}_")
    mangled = api.post(
        "send-location", {"phone": "120363012345678901", "isGroup": "false", "lat": 1, "lng": 2}
    )
    assert mangled.json()["response"][0]["id"].startswith(f"true_{group}_")
    assert [e["is_group"] for e in sim.ledger()] == [True, True]


def test_send_file_as_a_form_takes_the_type_from_the_extension(sim, api):
    api.connect()
    response = requests.post(
        f"{api.base}/send-file",
        headers=api.headers,
        data={"phone": "5521999999999", "filename": "report.pdf", "caption": "big one"},
        files={"file": ("upload.pdf", PDF, "application/octet-stream")},
        timeout=5,
    )
    assert response.status_code == 201
    [entry] = sim.ledger(message="big one")
    assert entry["route"] == "send-file" and entry["mimetype"] == "application/pdf"
    assert entry["filename"] == "report.pdf" and entry["type"] == "document"


def test_voice_location_contact_and_reply_answers(sim, api):
    api.connect()
    voice = api.post(
        "send-voice-base64",
        {"phone": "5521999999999", "base64Ptt": base64.b64encode(OGG).decode()},
    )
    assert voice.status_code == 201
    location = api.post(
        "send-location",
        {
            "phone": "5521999999999",
            "lat": "-22.9",
            "lng": -43.2,
            "title": "Depot",
            "address": "Rua",
        },
    )
    assert location.status_code == 201
    contact = api.post(
        "contact-vcard",
        {"phone": "5521999999999", "contactsId": "5521988887777@c.us", "name": "Ana"},
    )
    assert contact.status_code == 200  # one object, not a list (§2.6)
    assert contact.json()["response"]["sendMsgResult"] == {"messageSendResult": "OK"}
    two = api.post(
        "contact-vcard",
        {"phone": "5521999999999", "contactsId": ["5521988887777", "5521977776666"]},
    )
    assert two.status_code == 500
    original = api.send("5521999999999", "question").json()["response"][0]["id"]
    reply = api.post(
        "send-reply", {"phone": "5521999999999", "message": "answer", "messageId": original}
    )
    assert reply.status_code == 201
    assert reply.json()["response"][0]["id"]["_serialized"].startswith("true_")  # an object
    unknown = api.post(
        "send-reply", {"phone": "5521999999999", "message": "answer", "messageId": "false_x_1"}
    )
    assert unknown.status_code == 500 and unknown.json()["error"] == {"name": "r", "level": "error"}
    ledger = {e["route"]: e for e in sim.ledger()}
    assert ledger["send-voice-base64"]["type"] == "ptt"
    assert ledger["send-voice-base64"]["mimetype"] == "audio/ogg"
    assert (ledger["send-location"]["lat"], ledger["send-location"]["lng"]) == (-22.9, -43.2)
    assert ledger["send-reply"]["quoted"] == original
    assert ledger["contact-vcard"]["type"] == "vcard"


def test_an_unknown_number_is_refused_before_any_file_is_sent(sim, api):
    api.connect()
    response = api.post(
        "send-file-base64",
        {"phone": "5521990000000", "base64": data_url(PNG, "image/png")},
    )
    assert response.status_code == 400
    assert "não existe" in response.json()["message"]
    assert sim.ledger() == []


def test_an_inbound_file_can_be_downloaded_and_a_text_cannot(sim, api):
    api.connect()
    photo = sim.incoming(
        "demo",
        "5521977776666",
        media_base64=base64.b64encode(PNG).decode(),
        mimetype="image/png",
        type="image",
        caption="the parcel",
    )
    assert photo["isMedia"] is True and photo["size"] == len(PNG)
    downloaded = api.post("download-media", {"messageId": photo["id"]})
    assert downloaded.status_code == 200
    assert base64.b64decode(downloaded.json()["base64"]) == PNG
    assert downloaded.json()["mimetype"] == "image/png"
    text = sim.incoming("demo", "5521977776666", "just text")
    no_media = api.post("download-media", {"messageId": text["id"]})
    assert no_media.status_code == 400
    assert no_media.json()["message"] == "Message does not contain media"
    unknown = api.post("download-media", {"messageId": "false_nope"})
    assert unknown.status_code == 400 and unknown.json()["message"] == "Decrypt file error"


def test_faults_apply_to_the_rich_routes(sim, api):
    api.connect()
    sim.set_fault("send-location", error_rate=1.0)
    failed = api.post("send-location", {"phone": "5521999999999", "lat": 1, "lng": 2})
    assert failed.status_code == 500
    assert failed.json()["message"] == "Erro ao enviar a mensagem."
    sim.set_fault("send-file-base64", drop_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        api.post(
            "send-file-base64", {"phone": "5521999999999", "base64": data_url(PNG, "image/png")}
        )
    # The drop came after acceptance: WhatsApp has it, the client never heard.
    assert [e["route"] for e in sim.ledger()] == ["send-file-base64"]
