"""Media tasks: thin wrappers taking ids (services/media_fetch.py, services/inbound_media.py)."""

from __future__ import annotations

from celery import shared_task

from whatsapp.services import inbound_media, media_fetch


@shared_task(name="whatsapp.media.fetch")
def fetch_media(fetch_id: str) -> str:
    """Download a message's `media_url` once, then let its messages go."""
    return media_fetch.run(fetch_id)


@shared_task(name="whatsapp.media.download_inbound")
def download_inbound_media(media_id: str) -> str:
    """Download the file of an inbound message through the gateway."""
    return inbound_media.run(media_id)
