"""`media_url`: a worker downloads the file once; the messages waiting on it go out after.

The request stores a `MediaFetch` row (pending) and its messages with `awaiting_media`; the
dispatcher skips them. A worker claims the fetch (token and lease, as a send), downloads through
`whatsapp.urlfetch` (the one client for outside URLs) into a temporary file, checks the bytes like
any other file, and stores them. Then the messages get the file and the dispatcher is rung; if the
fetch fails, they fail with the reason. Only a worker that disappeared is retried: an answer
(too big, a timeout, a 404) would be the same the next time.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from whatsapp import doorbell, urlfetch
from whatsapp.conf import conf
from whatsapp.models import MediaFetch, OutboundMessage
from whatsapp.models.media import WorkState
from whatsapp.models.message import MessageStatus
from whatsapp.services import claims, media_store, media_types, transitions

logger = logging.getLogger(__name__)

# Above the messages queue's 60 s hard time limit: past it, the fetching worker is surely gone.
FETCH_LEASE = timedelta(seconds=90)
PENDING_GRACE = timedelta(seconds=30)
MAX_ATTEMPTS = 3
MAX_URL_LENGTH = 2048

REASONS = {
    "scheme": gettext_lazy("only http and https addresses can be fetched"),
    "address": gettext_lazy("the address is private or local, and fetching those is not allowed"),
    "connect": gettext_lazy("the server could not be reached"),
    "timeout": gettext_lazy("the server took too long"),
    "status": gettext_lazy("the server answered HTTP %(status)s"),
    "too_big": gettext_lazy("the file is larger than %(max)s MB"),
    "redirects": gettext_lazy("too many redirects"),
}


def create(url: str, kind: str) -> MediaFetch:
    """A pending fetch, rung once the caller's transaction commits."""
    fetch = MediaFetch.objects.create(url=url, kind=kind)
    doorbell.ring(doorbell.FETCH_MEDIA, str(fetch.pk))
    return fetch


def reason(code: str, kind: str, status: int | None = None) -> str:
    """Why a fetch failed, as the message's last_error says it."""
    template = REASONS.get(code)
    detail = (
        str(template)
        % {"status": status, "max": media_types.megabytes(media_types.max_bytes(kind))}
        if template is not None
        else _("the file could not be downloaded")
    )
    return _("The media URL could not be fetched: %(reason)s.") % {"reason": detail}


def _download(fetch: MediaFetch) -> media_store.Prepared:
    cap = media_types.max_bytes(fetch.kind)
    with urlfetch.fetch(
        fetch.url,
        max_bytes=cap,
        timeout=float(conf.MEDIA_FETCH_TIMEOUT),
        allow_private=bool(conf.MEDIA_FETCH_ALLOW_PRIVATE),
    ) as chunks:
        name = fetch.url.split("?")[0].rstrip("/").rpartition("/")[2]
        return media_store.from_chunks(chunks, name[:255], limit=cap)


def run(fetch_id: uuid.UUID | str) -> str:
    claimed = claims.claim(MediaFetch, fetch_id, FETCH_LEASE)
    if claimed is None:
        return "not claimed"
    fetch, token = claimed
    try:
        prepared = _download(fetch)
    except urlfetch.FetchError as exc:
        return _failed(fetch, token, reason(exc.code, fetch.kind, exc.status))
    except media_store.TooBig:
        return _failed(fetch, token, reason("too_big", fetch.kind))
    try:
        problem = media_types.problem(fetch.kind, prepared.mime, prepared.size)
        if problem:
            return _failed(fetch, token, problem)
        media = media_store.save(prepared)
    finally:
        prepared.close()
    with transaction.atomic():
        if not claims.finish(MediaFetch, fetch.pk, token, WorkState.DONE, media=media):
            return "claim lost"
        waiting = OutboundMessage.objects.filter(media_fetch=fetch, awaiting_media=True)
        instances = set(waiting.values_list("instance_id", flat=True))
        name = media_types.default_filename(fetch.kind, media.filename, media.mime_type)
        waiting.filter(filename="").update(filename=name)
        waiting.update(media=media, awaiting_media=False, updated_at=timezone.now())
        for instance_id in sorted(instances):
            doorbell.ring(doorbell.DISPATCH, instance_id)
    return "fetched"


def _failed(fetch: MediaFetch, token: uuid.UUID, why: str) -> str:
    logger.info("media fetch %s failed: %s", fetch.pk, why)
    with transaction.atomic():
        if claims.finish(MediaFetch, fetch.pk, token, WorkState.FAILED, error=why):
            fail_waiting([fetch.pk], why)
    return "failed"


def fail_waiting(fetch_ids: list[Any], why: str | None = None) -> None:
    """The messages waiting on these fetches: failed (queued ones), no longer waiting (all)."""
    where = Q(media_fetch_id__in=fetch_ids, awaiting_media=True)
    transitions.move_many(
        where,
        frm=MessageStatus.QUEUED,
        to=MessageStatus.FAILED,
        skip_locked=False,
        failed_at=timezone.now(),
        last_error=why or _("The media URL could not be fetched."),
    )
    OutboundMessage.objects.filter(where).update(awaiting_media=False)


def sweep(now: datetime) -> int:
    return claims.sweep(
        MediaFetch,
        now,
        task=doorbell.FETCH_MEDIA,
        grace=PENDING_GRACE,
        max_attempts=MAX_ATTEMPTS,
        on_failed=fail_waiting,
    )
