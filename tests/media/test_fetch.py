"""`media_url`: fetched once by a worker through the one URL client, then the messages go; a
fetch that fails fails them with the reason. The client refuses what server-side request
forgery needs: other schemes, private addresses, endless redirects, endless bodies."""

from __future__ import annotations

import hashlib
import socket
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from tests.media.samples import PDF
from tests.messages.conftest import phone
from whatsapp import api, urlfetch
from whatsapp.models import MediaFetch, OutboundMessage
from whatsapp.models.media import WorkState
from whatsapp.services import media_fetch

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def read(url: str, **kwargs) -> bytes:
    kwargs.setdefault("max_bytes", 10**6)
    kwargs.setdefault("timeout", 5.0)
    with urlfetch.fetch(url, **kwargs) as chunks:
        return b"".join(chunks)


def code_of(url: str, **kwargs) -> str:
    with pytest.raises(urlfetch.FetchError) as caught:
        read(url, **kwargs)
    return caught.value.code


def test_loopback_and_private_addresses_are_refused_unless_allowed(files):
    url = files.serve("/a.pdf", PDF)
    assert code_of(url) == "address"
    assert read(url, allow_private=True) == PDF
    assert files.hits == ["/a.pdf"]  # the refused try never connected


def test_a_name_resolving_to_a_private_address_is_refused_at_connect_time(files, monkeypatch):
    url = files.serve("/b.pdf", PDF).replace("127.0.0.1", "files.example.com")
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        return real("127.0.0.1" if host == "files.example.com" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    assert code_of(url) == "address"


@pytest.mark.parametrize(
    "url", ["ftp://files.test/a", "file:///etc/passwd", "gopher://x/", "http://", "not a url"]
)
def test_only_http_and_https_urls_are_fetched(url):
    assert code_of(url, allow_private=True) == "scheme"


def test_a_redirect_to_another_scheme_or_a_chain_of_them_is_refused(files):
    files.serve("/to-file", location="file:///etc/passwd")
    assert code_of(files.url("/to-file"), allow_private=True) == "scheme"
    for n in range(5):
        files.serve(f"/hop{n}", location=f"/hop{n + 1}")
    assert code_of(files.url("/hop0"), allow_private=True) == "redirects"
    files.serve("/moved", location="/c.pdf")
    files.serve("/c.pdf", PDF)
    assert read(files.url("/moved"), allow_private=True) == PDF


def test_the_size_cap_holds_while_streaming_whatever_the_length_header_says(files):
    assert (
        code_of(files.serve("/big", b"x" * 5000), max_bytes=1000, allow_private=True) == "too_big"
    )
    unsized = files.serve("/unsized", b"y" * 5000, length=None, chunk=500)
    assert code_of(unsized, max_bytes=1000, allow_private=True) == "too_big"
    assert code_of(files.url("/missing"), allow_private=True) == "status"


def test_a_slow_server_times_out(files):
    slow = files.serve("/slow", b"z" * 4000, chunk=1000, pause=0.6)
    assert code_of(slow, timeout=1.0, allow_private=True) == "timeout"


def test_a_fetch_gives_the_waiting_messages_their_file_and_rings_the_dispatcher(
    files, make_instance, rung
):
    instance = make_instance("main")
    url = files.serve("/files/invoice.pdf", PDF, type="text/html")  # the header is not trusted
    results = api.send_many(
        [
            {"to": phone(1), "type": "document", "media_url": url, "caption": "invoice"},
            {"to": phone(2), "type": "document", "media_url": url},
        ]
    )
    first, second = (result.message for result in results)
    fetch = MediaFetch.objects.get()  # one URL in one request: fetched once for both
    assert first.awaiting_media and first.media_fetch_id == second.media_fetch_id == fetch.pk
    assert media_fetch.run(fetch.pk) == "fetched"
    assert media_fetch.run(fetch.pk) == "not claimed"  # a second delivery of the task
    for message in (first, second):
        message.refresh_from_db()
        assert not message.awaiting_media and message.status == "queued"
        assert message.media.sha256 == hashlib.sha256(PDF).hexdigest()
        assert message.media.mime_type == "application/pdf"
    assert first.filename == "invoice.pdf"  # from the URL, lacking one of its own
    assert files.hits == ["/files/invoice.pdf"]
    assert instance.pk in rung.args_of("whatsapp.messages.dispatch")


@pytest.mark.parametrize(
    ("serve", "reason"),
    [
        ({"body": PDF}, "not an allowed type"),
        ({"body": b"%PDF-" + b"x" * 5000}, "larger than"),
        ({"body": PDF, "chunk": 500, "pause": 0.6}, "took too long"),
        ({"missing": True}, "HTTP 404"),
    ],
    ids=["wrong type", "too big", "timeout", "404"],
)
def test_a_failed_fetch_fails_its_messages_with_the_reason(
    files, make_instance, rung, whatsapp_conf, serve, reason
):
    make_instance("main")
    whatsapp_conf.MEDIA_MAX_BYTES = {**whatsapp_conf.MEDIA_MAX_BYTES, "document": 4000}
    whatsapp_conf.MEDIA_FETCH_TIMEOUT = 1.0
    url = files.url("/nothing") if serve.pop("missing", False) else files.serve("/f", **serve)
    message = api.send_media(
        phone(1), url=url, kind="image" if reason == "not an allowed type" else "document"
    )
    assert media_fetch.run(message.media_fetch_id) == "failed"
    message.refresh_from_db()
    assert message.status == "failed" and not message.awaiting_media
    assert reason in message.last_error
    assert MediaFetch.objects.get().state == WorkState.FAILED


def test_the_private_address_refusal_is_the_reason_given_by_default(
    files, make_instance, rung, whatsapp_conf
):
    make_instance("main")
    whatsapp_conf.MEDIA_FETCH_ALLOW_PRIVATE = False
    message = api.send_media(phone(1), url=files.serve("/p.pdf", PDF), kind="document")
    media_fetch.run(message.media_fetch_id)
    message.refresh_from_db()
    assert message.status == "failed" and "private or local" in message.last_error


def test_the_sweep_rings_for_lost_doorbells_and_gives_up_on_a_worker_that_keeps_dying(
    make_instance, rung
):
    make_instance("main")
    message = api.send_media(phone(1), url="https://files.example.com/a.pdf", kind="document")
    fetch = MediaFetch.objects.get()
    now = timezone.now()
    MediaFetch.objects.filter(pk=fetch.pk).update(updated_at=now - timedelta(minutes=5))
    rung.clear()
    assert media_fetch.sweep(now) == 1
    assert rung.args_of("whatsapp.media.fetch") == [str(fetch.pk)]
    MediaFetch.objects.filter(pk=fetch.pk).update(
        state=WorkState.RUNNING, lease_expires_at=now - timedelta(seconds=1), attempts=3
    )
    media_fetch.sweep(now)
    fetch.refresh_from_db()
    message.refresh_from_db()
    assert fetch.state == WorkState.FAILED and message.status == "failed"
    assert OutboundMessage.objects.filter(awaiting_media=True).count() == 0
