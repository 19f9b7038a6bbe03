"""The dashboard's test message takes an attachment or a location; the messages page shows each
message's type, a thumbnail or the file's name and size, and the caption."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import translation

from tests.media.samples import EXE, JPEG, PDF
from whatsapp import api
from whatsapp.models import Instance, OutboundMessage

pytestmark = pytest.mark.django_db
SEND_TEST = "/system/whatsapp/send-test/"


@pytest.fixture(autouse=True)
def _english(rung):
    with translation.override("en"):
        yield


@pytest.fixture
def instance(db) -> Instance:
    item = Instance(
        slug="main",
        name="Main",
        session_name="main",
        gateway_url="http://127.0.0.1:9",
        is_default=True,
    )
    item.secret_key = "stored-secret-key"
    item.save()
    return item


def test_an_attachment_is_queued_with_its_caption(operator_client, instance):
    response = operator_client.post(
        SEND_TEST,
        {
            "phone": "+55 21 99999-1234",
            "type": "file",
            "message": "the invoice",
            "file": SimpleUploadedFile("nota.pdf", PDF, content_type="text/plain"),
        },
    )
    assert response.status_code == 202, response.content
    body = response.json()["message"]
    assert (body["type"], body["caption"], body["filename"]) == (
        "document",
        "the invoice",
        "nota.pdf",
    )
    assert body["media"]["mime_type"] == "application/pdf"  # from the bytes, not the upload


def test_an_attachment_that_cannot_be_sent_names_the_file_field(operator_client, instance):
    refused = operator_client.post(
        SEND_TEST,
        {"phone": "+55 21 99999-1234", "type": "file", "file": SimpleUploadedFile("a.exe", EXE)},
    )
    assert refused.status_code == 422 and "file" in refused.json()["errors"]
    missing = operator_client.post(SEND_TEST, {"phone": "+55 21 99999-1234", "type": "file"})
    assert missing.status_code == 422 and "file" in missing.json()["errors"]
    assert not OutboundMessage.objects.exists()


def test_a_location_is_queued_and_bad_coordinates_are_named(operator_client, instance):
    ok = operator_client.post(
        SEND_TEST,
        {"phone": "+55 21 99999-1234", "type": "location", "latitude": "-22,9068",
         "longitude": "-43.1729", "place": "Depot"},
        content_type="application/json",
    )  # fmt: skip
    assert ok.status_code == 202, ok.content
    assert ok.json()["message"]["location"]["latitude"] == -22.9068
    bad = operator_client.post(
        SEND_TEST,
        {"phone": "+55 21 99999-1234", "type": "location", "latitude": "north", "longitude": "200"},
        content_type="application/json",
    )
    assert bad.status_code == 422
    assert set(bad.json()["errors"]) == {"latitude", "longitude"}


def test_the_messages_page_shows_type_thumbnail_or_name_and_size_and_caption(
    operator_client, instance
):
    photo = api.send_media("+5521999991234", JPEG, caption="parcel at the door")
    document = api.send_media(
        "120363012345678901@g.us", PDF, filename="nf-42.pdf", caption="invoice"
    )
    api.send_location("+5521999991234", -22.9, -43.2, name="Depot")
    api.send_contact("+5521999991234", "Ana", "+5521988887777")
    page = operator_client.get(
        reverse("dashboard-messages"), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert f'src="{reverse("dashboard-media", args=[photo.media_id])}"' in page  # the thumbnail
    assert "parcel at the door" in page and "invoice" in page
    assert "nf-42.pdf" in page and filesizeformat(document.media.size) in page
    assert "120363012345678901@g.us" in page and "+120363012345678901" not in page
    for kind, label in (("image", "Image"), ("document", "Document"), ("contact", "Contact card")):
        assert f'data-kind="{kind}">{label}<' in page
    assert "Depot" in page and "Ana" in page and "+5521988887777" in page
    rows = operator_client.get(
        reverse("dashboard-messages-rows"), {"ids": f"{document.pk}"}
    ).json()["rows"]
    assert "nf-42.pdf" in rows[str(document.pk)]["html"]


def test_an_attachment_passes_the_csrf_check_and_is_refused_without_it(operator, instance):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(operator)
    browser.get(reverse("dashboard"))  # sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    form = {"phone": "+55 21 99999-1234", "type": "file", "file": SimpleUploadedFile("n.pdf", PDF)}
    refused = browser.post(SEND_TEST, form)
    assert refused.status_code == 403 and not OutboundMessage.objects.exists()
    form["file"] = SimpleUploadedFile("n.pdf", PDF)
    accepted = browser.post(SEND_TEST, form, HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 202, accepted.content
