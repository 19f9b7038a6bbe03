"""Content-addressed storage: stored once, repaired when a write was cut short, pruned only when
no unfinished message needs it."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.messages.conftest import phone
from whatsapp import api
from whatsapp.models import MediaFetch, MediaFile, OutboundMessage
from whatsapp.models.media import WorkState
from whatsapp.services import media_store, pruning

pytestmark = pytest.mark.django_db


def pdf() -> bytes:
    return b"%PDF-1.4\n" + os.urandom(1000)


def test_a_file_lost_or_cut_short_under_its_name_is_written_again():
    data = pdf()
    media = media_store.save(media_store.from_bytes(data))
    store = media_store.storage()
    store.delete(media.storage_name)
    assert media_store.save(media_store.from_bytes(data)).pk == media.pk
    assert store.open(media.storage_name).read() == data
    MediaFile.objects.filter(pk=media.pk).delete()
    with store.open(media.storage_name, "wb") as partial:  # an interrupted write
        partial.write(data[:100])
    again = media_store.save(media_store.from_bytes(data))
    assert store.open(again.storage_name).read() == data


def test_a_large_stream_is_read_once_into_a_temporary_file_and_capped():
    data = os.urandom(3 * media_store.CHUNK + 17)
    import io

    prepared = media_store.from_stream(io.BytesIO(b"%PDF-" + data), limit=10**7)
    try:
        assert prepared.size == len(data) + 5 and prepared.mime == "application/pdf"
        assert prepared.path and os.path.exists(prepared.path) and prepared.data is None
    finally:
        prepared.close()
    assert not os.path.exists(prepared.path)
    with pytest.raises(media_store.TooBig):
        media_store.from_stream(io.BytesIO(data), limit=1000)


def test_prune_keeps_what_an_unfinished_message_needs_and_what_was_used_lately(
    make_instance, rung, whatsapp_conf
):
    make_instance("main")
    whatsapp_conf.MEDIA_RETENTION_DAYS = 30
    old = timezone.now() - timedelta(days=31)
    waiting = api.send_media(phone(1), pdf())
    sent = api.send_media(phone(2), pdf())
    OutboundMessage.objects.filter(pk=sent.pk).update(status="read")
    unused = media_store.save(media_store.from_bytes(pdf()))
    recent = media_store.save(media_store.from_bytes(pdf()))
    MediaFile.objects.exclude(pk=recent.pk).update(last_used_at=old)
    fetch = MediaFetch.objects.create(url="https://x.test/a", kind="document")
    MediaFetch.objects.filter(pk=fetch.pk).update(state=WorkState.FAILED, finished_at=old)
    result = pruning.prune()
    assert result["media"] == 2 and result["media_fetches"] == 1
    left = set(MediaFile.objects.values_list("pk", flat=True))
    assert left == {waiting.media_id, recent.pk}
    store = media_store.storage()
    assert not store.exists(unused.storage_name) and store.exists(recent.storage_name)
    sent.refresh_from_db()
    assert sent.media_id is None and sent.kind == "document"  # the row stays, without its file
