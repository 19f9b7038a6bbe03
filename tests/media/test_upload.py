"""POST /api/v1/media and GET /api/v1/media/{id}: files in and out, never without a key."""

from __future__ import annotations

import hashlib
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import translation

from tests.media.samples import EXE, JPEG, PDF
from whatsapp.models import MediaFile

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def upload(client, data: bytes, name: str = "invoice.pdf", **fields):
    return client.post(
        "/api/v1/media", {"file": SimpleUploadedFile(name, data), **fields}, format="multipart"
    )


def test_an_upload_answers_its_id_hash_size_type_and_name_and_is_stored_once(api_client):
    first = upload(api_client, PDF)
    assert first.status_code == 201, first.content
    body = first.json()
    assert set(body) == {"id", "sha256", "size", "mime_type", "filename"}
    assert body["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert (body["size"], body["mime_type"], body["filename"]) == (
        len(PDF),
        "application/pdf",
        "invoice.pdf",
    )
    again = upload(api_client, PDF, name="copy.pdf", filename="renamed.pdf")
    assert again.json()["id"] == body["id"] and again.json()["filename"] == "renamed.pdf"
    assert MediaFile.objects.count() == 1


def test_the_type_comes_from_the_bytes_not_the_name(api_client):
    response = upload(api_client, JPEG, name="looks-like.pdf")
    assert response.json()["mime_type"] == "image/jpeg"
    refused = upload(api_client, EXE, name="harmless.pdf")
    assert refused.status_code == 400
    assert "not a type that can be sent" in refused.json()["errors"]["file"][0]
    empty = upload(api_client, b"", name="empty.pdf")
    assert empty.status_code == 400 and "empty" in empty.json()["errors"]["file"][0]


def test_a_file_over_the_largest_cap_is_a_413_and_is_not_kept(api_client, whatsapp_conf):
    whatsapp_conf.MEDIA_MAX_BYTES = {"image": 1000, "document": 2000, "audio": 1000}
    data = b"%PDF-1.4\n" + os.urandom(5000)
    response = upload(api_client, data)
    assert response.status_code == 413
    assert response.json()["code"] == "too_large" and "file" in response.json()["errors"]
    assert not MediaFile.objects.exists()


def test_a_jpeg_may_be_as_large_as_a_document_since_it_can_go_as_one(api_client, whatsapp_conf):
    whatsapp_conf.MEDIA_MAX_BYTES = {"image": 100, "document": 100_000}
    assert upload(api_client, JPEG, name="p.jpg").status_code == 201


def test_an_upload_needs_a_multipart_file_and_a_key(api_client):
    assert upload(Client(), PDF).status_code == 401
    not_a_form = api_client.post("/api/v1/media", data=b"{}", content_type="application/json")
    assert not_a_form.status_code == 400 and "multipart" in not_a_form.json()["message"]
    no_file = api_client.post("/api/v1/media", {"filename": "x.pdf"}, format="multipart")
    assert no_file.status_code == 400 and "file" in no_file.json()["errors"]
    bad_name = upload(api_client, PDF, filename="a/b.pdf")
    assert bad_name.status_code == 400 and "filename" in bad_name.json()["errors"]
    assert not MediaFile.objects.exists()


def test_a_download_streams_the_file_to_a_key_holder_only(api_client):
    media_id = upload(api_client, PDF).json()["id"]
    assert Client().get(f"/api/v1/media/{media_id}").status_code == 401
    response = api_client.get(f"/api/v1/media/{media_id}")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith('attachment; filename="invoice.pdf"')
    assert response["X-Content-Type-Options"] == "nosniff"
    # The file's own policy, sandboxed, not the API's answers' (whatsapp/csp.py).
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert api_client.get("/api/v1/media/not-a-uuid").status_code == 404
    missing = api_client.get("/api/v1/media/6f1c0000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_a_scoped_key_downloads_only_files_of_what_it_may_read(api_client, make_instance):
    from whatsapp import api
    from whatsapp.models import ApiKey

    mine, other = make_instance("mine"), make_instance("other", default=False)
    media_id = upload(api_client, PDF).json()["id"]
    _row, limited = ApiKey.create("limited", scopes=["send", "read"], instances=[mine])
    limited_client = Client(HTTP_AUTHORIZATION=f"Bearer {limited}")
    # Not yet used by anything it may read: no such file, as for an id that does not exist.
    assert limited_client.get(f"/api/v1/media/{media_id}").status_code == 404
    api.send_media("+5521987000001", PDF, instance=other)
    assert limited_client.get(f"/api/v1/media/{media_id}").status_code == 404
    sent = limited_client.post(
        "/api/v1/messages",
        {"to": "+5521987000002", "type": "document", "media_id": media_id, "instance": "mine"},
        content_type="application/json",
    )
    assert sent.status_code == 201, sent.content
    assert limited_client.get(f"/api/v1/media/{media_id}").status_code == 200
    no_read = ApiKey.create("send only", scopes=["send"])[1]
    forbidden = Client(HTTP_AUTHORIZATION=f"Bearer {no_read}").get(f"/api/v1/media/{media_id}")
    assert forbidden.status_code == 403 and "read" in forbidden.json()["message"]


def test_a_host_without_the_media_storage_alias_is_warned(settings):
    from whatsapp.checks import check_media_storage

    assert check_media_storage() == []
    settings.STORAGES = {k: v for k, v in settings.STORAGES.items() if k != "whatsapp_media"}
    [warning] = check_media_storage()
    assert warning.id == "whatsapp.W003" and "whatsapp_media" in warning.msg


def test_a_fetch_timeout_beyond_the_queues_limit_is_warned(whatsapp_conf):
    from whatsapp.checks import check_media_fetch_timeout

    assert check_media_fetch_timeout() == []
    whatsapp_conf.MEDIA_FETCH_TIMEOUT = 300
    [warning] = check_media_fetch_timeout()
    assert warning.id == "whatsapp.W004"
