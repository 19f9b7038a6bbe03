"""The rich sends and the media download of the gateway client (companion contract §2, §3.2).

Unit tests with `responses` pin the bodies and the answers' quirks; the end of the file runs
each function against the simulator over real HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import responses

from whatsapp.gateway import (
    GatewayClient,
    NotConnected,
    ProtocolError,
    Rejected,
    ServerError,
    UnknownNumber,
)
from whatsapp.gateway import media as gateway_media
from whatsapp.gateway.media import Upload

BASE = "http://gw.test:21465"
SESSION = "demo"
SECRET = "localtestsecret"
PHONE = "5521999999999"
GROUP = "120363012345678901@g.us"
SENT_ID = f"true_{PHONE}@c.us_3EB0C4A1B2D3E4F5A6B7"
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40


def url(route: str) -> str:
    return f"{BASE}/api/{SESSION}/{route}"


def upload(data: bytes = PDF, mime: str = "application/pdf", name: str = "invoice.pdf") -> Upload:
    @contextmanager
    def reader() -> Iterator[io.BytesIO]:
        yield io.BytesIO(data)

    return Upload(reader, len(data), mime, name, "pdf")


@pytest.fixture
def client() -> GatewayClient:
    return GatewayClient(BASE, SESSION, SECRET)


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


def sent_body(rsps: responses.RequestsMock) -> bytes:
    request = rsps.calls[-1].request
    body: Any = request.body
    raw = body if isinstance(body, bytes) else b"".join(body)
    assert int(request.headers["Content-Length"]) == len(raw)
    return raw


ACCEPTED = {"status": "success", "response": [{"ack": 1, "id": SENT_ID}], "mapper": "return"}


def test_a_file_goes_as_a_streamed_data_url_with_its_name_caption_quote_and_type(client, rsps):
    rsps.post(url("send-file-base64"), status=201, json=ACCEPTED)

    sent = client.send_file(
        PHONE,
        upload(),
        kind="document",
        caption="invoice",
        quoted_id="false_x@c.us_ABCDEF",
        read_timeout=99,
    )

    body = json.loads(sent_body(rsps))
    assert body["phone"] == PHONE and body["isGroup"] is False
    assert body["filename"] == "invoice.pdf" and body["caption"] == "invoice"
    assert body["quotedMessageId"] == "false_x@c.us_ABCDEF"
    assert body["options"] == {"type": "document"}
    prefix, _comma, data = body["base64"].partition(",")
    assert prefix == "data:application/pdf;base64" and base64.b64decode(data) == PDF
    assert rsps.calls[0].request.headers["Content-Type"] == "application/json"
    assert sent.id == SENT_ID and sent.to == f"{PHONE}@c.us"


def test_the_read_timeout_of_a_file_is_the_one_given(rsps):
    seen = {}

    class Recording(__import__("requests").Session):
        def request(self, method, url, **kwargs):  # type: ignore[override]
            seen.update(kwargs)
            return super().request(method, url, **kwargs)

    client = GatewayClient(BASE, SESSION, SECRET, http=Recording())
    rsps.post(url("send-file-base64"), status=201, json=ACCEPTED)
    client.send_file(PHONE, upload(), kind="document", read_timeout=321.0)
    assert seen["timeout"] == (5.0, 321.0)


def test_a_group_is_addressed_by_its_id_with_the_group_flag_and_a_lid_with_its_flag(client, rsps):
    rsps.post(url("send-location"), status=201, json=ACCEPTED)
    rsps.post(url("send-location"), status=201, json=ACCEPTED)

    client.send_location(GROUP, -22.9, -43.2, name="Depot", address="Rua A")
    client.send_location("37233239318535@lid", 1.5, 2.5)

    group, lid = (json.loads(call.request.body) for call in rsps.calls)
    assert group == {
        "phone": GROUP,
        "isGroup": True,
        "lat": -22.9,
        "lng": -43.2,
        "title": "Depot",
        "address": "Rua A",
    }
    assert lid == {
        "phone": "37233239318535@lid",
        "isGroup": False,
        "isLid": True,
        "lat": 1.5,
        "lng": 2.5,
    }


def test_a_file_too_large_for_the_servers_json_limit_goes_as_a_form(client, rsps, monkeypatch):
    monkeypatch.setattr(gateway_media, "JSON_BODY_LIMIT", 1000)
    rsps.post(url("send-file"), status=201, json=ACCEPTED)

    client.send_file(PHONE, upload(), kind="document", caption="big")

    request = rsps.calls[0].request
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    raw = sent_body(rsps)
    # Every isGroup value means a group in a form (§1.3): a person's send has none.
    assert b'name="isGroup"' not in raw
    assert b'filename="upload.pdf"' in raw and PDF in raw
    assert b'name="filename"\r\n\r\ninvoice.pdf' in raw


def test_a_voice_note_goes_to_send_voice_base64_as_a_data_url(client, rsps):
    rsps.post(url("send-voice-base64"), status=201, json=ACCEPTED)
    client.send_voice(PHONE, upload(b"OggS" + b"\x00" * 50, "audio/ogg"), quoted_id="q")
    body = json.loads(sent_body(rsps))
    assert body["base64Ptt"].startswith("data:audio/ogg;base64,")
    assert body["quotedMessageId"] == "q" and "filename" not in body


def test_a_contact_card_reads_the_single_object_answer(client, rsps):
    answer = {"id": SENT_ID, "ack": 1, "from": "x@c.us", "to": f"{PHONE}@c.us", "sendMsgResult": {}}
    rsps.post(url("contact-vcard"), status=200, json={"status": "success", "response": answer})

    sent = client.send_contact(PHONE, "+55 21 98888-7777", "Ana")

    assert json.loads(rsps.calls[0].request.body) == {
        "phone": PHONE,
        "isGroup": False,
        "contactsId": "5521988887777@c.us",
        "name": "Ana",
    }
    assert sent.id == SENT_ID


def test_a_reply_reads_an_object_id(client, rsps):
    message = {"id": {"fromMe": True, "id": "K", "_serialized": SENT_ID}, "ack": 0}
    rsps.post(url("send-reply"), status=201, json={"status": "success", "response": [message]})

    sent = client.send_reply(PHONE, "answer", "false_5521@c.us_QUOTED")

    assert json.loads(rsps.calls[0].request.body)["messageId"] == "false_5521@c.us_QUOTED"
    assert sent.id == SENT_ID


@pytest.mark.parametrize("response", [[None], [False], []])
def test_an_answer_without_a_message_is_unknown_never_a_safe_retry(client, rsps, response):
    rsps.post(url("send-file-base64"), status=201, json={"status": "success", "response": response})

    with pytest.raises(ProtocolError) as caught:
        client.send_file(PHONE, upload(), kind="document")

    assert caught.value.delivered == "unknown"


@pytest.mark.parametrize(
    "error",
    ["invalid_data_url", {"code": "empty_file", "level": "error"}, {"code": "invalid_image"}],
)
def test_a_file_the_library_cannot_read_is_refused_for_good(client, rsps, error):
    body = {"status": "Error", "message": "Erro ao enviar a mensagem.", "error": error}
    rsps.post(url("send-file-base64"), status=500, json=body)

    with pytest.raises(Rejected) as caught:
        client.send_file(PHONE, upload(), kind="document")

    assert caught.value.delivered == "no" and caught.value.permanent


def test_a_failure_inside_whatsapp_web_may_have_sent(client, rsps):
    body = {"status": "Error", "message": "Erro ao enviar a mensagem.", "error": {"name": "r"}}
    rsps.post(url("send-file-base64"), status=500, json=body)

    with pytest.raises(ServerError) as caught:
        client.send_file(PHONE, upload(), kind="document")

    assert caught.value.delivered == "unknown"


def test_no_file_is_a_refusal_not_a_token_problem(client, rsps):
    rsps.post(
        url("send-file-base64"), status=401, json={"message": "Sending the file is mandatory"}
    )
    with pytest.raises(Rejected) as caught:
        client.send_file(PHONE, upload(), kind="document")
    assert "no file" in str(caught.value)


def test_an_unknown_number_on_a_file_route_is_unknown_number(client, rsps):
    body = {"response": None, "status": "Connected", "message": f"O número {PHONE} não existe."}
    rsps.post(url("send-file-base64"), status=400, json=body)
    with pytest.raises(UnknownNumber):
        client.send_file(PHONE, upload(), kind="document")


def test_download_media_decodes_the_answer_into_the_sink(client, rsps):
    payload = {"base64": base64.b64encode(PDF).decode(), "mimetype": "application/pdf"}
    rsps.post(url("download-media"), status=200, json=payload)
    sink = io.BytesIO()

    mimetype = client.download_media("false_x@c.us_ABC", sink, max_bytes=len(PDF))

    assert mimetype == "application/pdf" and sink.getvalue() == PDF
    assert json.loads(rsps.calls[0].request.body) == {"messageId": "false_x@c.us_ABC"}


def test_download_media_refuses_a_file_past_its_cap(client, rsps):
    payload = {"base64": base64.b64encode(PDF).decode(), "mimetype": "application/pdf"}
    rsps.post(url("download-media"), status=200, json=payload)
    with pytest.raises(ProtocolError):
        client.download_media("id", io.BytesIO(), max_bytes=100)


def test_download_media_of_an_expired_file_is_a_permanent_refusal(client, rsps):
    body = {"status": "error", "message": "Decrypt file error", "error": {"name": "r"}}
    rsps.post(url("download-media"), status=400, json=body)
    with pytest.raises(Rejected) as caught:
        client.download_media("id", io.BytesIO(), max_bytes=100)
    assert caught.value.permanent


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        (b'{"mimetype":"a/b","base64":"QUJD"}', b"ABC"),
        # JSON may escape "/" as "\/", here cut in two by the chunking; any key order.
        (b'  {\n"base64" : "QU\\/D", "mimetype":"a/b", "session":"s\\"x", "n": 1}', b"AO\xc3"),
    ],
)
def test_the_base64_answer_is_read_whatever_its_key_order_and_escapes(raw, decoded):
    sink = io.BytesIO()
    chunks = iter([raw[i : i + 3] for i in range(0, len(raw), 3)])
    assert gateway_media.read_base64_answer(chunks, sink, 100) == "a/b"
    assert sink.getvalue() == decoded


@pytest.mark.parametrize(
    "raw",
    [
        b"[]",
        b'{"mimetype":"a/b"}',
        b'{"base64":"QUJ","mimetype":"a/b"}',
        b'{"base64":"Q!==","mimetype":"x"}',
        b'{"base64":"QUJD"',
    ],
)
def test_a_broken_base64_answer_is_a_protocol_error(raw):
    with pytest.raises(ProtocolError):
        gateway_media.read_base64_answer(iter([raw]), io.BytesIO(), 100)


# -- against the simulator -------------------------------------------------------------------


@pytest.fixture(scope="module")
def simulator():
    from whatsapp.simulator.testing import start_simulator

    handle = start_simulator(SECRET, init_delay=0.05)
    yield handle
    handle.stop()


@pytest.fixture
def connected(simulator):
    simulator.reset(seed=3)
    live = GatewayClient(simulator.url, "rich", SECRET)
    live.start_session()
    simulator.wait_for_status("rich", "QRCODE")
    simulator.scan("rich", "5521911110000")
    simulator.wait_for_status("rich", "CONNECTED")
    yield live
    simulator.reset()


def test_every_rich_send_reaches_the_simulator_once_on_its_route(simulator, connected):
    big = PDF * 200  # ~2 MB: streamed in many blocks
    connected.send_file(GROUP, upload(big), kind="document", caption="report")
    connected.send_voice(PHONE, upload(b"OggS" + b"\x00" * 99, "audio/ogg"))
    connected.send_location(PHONE, -22.9, -43.2, name="Depot")
    connected.send_contact(PHONE, "5521988887777", "Ana")
    text = connected.send_text(GROUP, "to the group")
    connected.send_reply(PHONE, "answer", text.id)

    ledger = simulator.ledger()
    assert [e["route"] for e in ledger] == [
        "send-file-base64",
        "send-voice-base64",
        "send-location",
        "contact-vcard",
        "send-message",
        "send-reply",
    ]
    document = ledger[0]
    assert document["is_group"] and document["to"] == GROUP
    assert document["sha256"] == hashlib.sha256(big).hexdigest()
    assert document["filename"] == "invoice.pdf" and document["caption"] == "report"
    assert ledger[-1]["quoted"] == text.id


def test_a_form_upload_reaches_the_simulator_with_its_type(simulator, connected, monkeypatch):
    monkeypatch.setattr(gateway_media, "JSON_BODY_LIMIT", 1000)
    connected.send_file(PHONE, upload(), kind="document", caption="as a form")
    [entry] = simulator.ledger(message="as a form")
    assert entry["route"] == "send-file" and entry["mimetype"] == "application/pdf"
    assert entry["sha256"] == hashlib.sha256(PDF).hexdigest()


def test_an_inbound_file_is_downloaded_through_the_gateway(simulator, connected):
    photo = simulator.incoming(
        "rich",
        "5521977776666",
        media_base64=base64.b64encode(PDF).decode(),
        mimetype="application/pdf",
        type="document",
    )
    sink = io.BytesIO()
    assert connected.download_media(photo["id"], sink, max_bytes=10**6) == "application/pdf"
    assert sink.getvalue() == PDF


def test_rich_sends_on_a_session_that_is_not_connected_are_not_connected(simulator):
    idle = GatewayClient(simulator.url, "idle-rich", SECRET)
    with pytest.raises(NotConnected):
        idle.send_file(PHONE, upload(), kind="document")
    with pytest.raises(NotConnected):
        idle.download_media("x", io.BytesIO(), max_bytes=10)
