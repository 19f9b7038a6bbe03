"""Giving a new message row what its content needs before it is inserted: its stored file (saved
once per content), a fetch for its URL, its type's fields.

Called inside the enqueue transaction. One `Attach` serves a whole batch: a file sent to 1,000
people is stored (and its row marked used) once, a URL fetched once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _

from whatsapp.models import MediaFetch, MediaFile, OutboundMessage
from whatsapp.services import media_fetch, media_store, media_types
from whatsapp.services.message_content import Content
from whatsapp.services.message_requests import MessageValidationError


@dataclass
class Attach:
    files: dict[str, MediaFile] = field(default_factory=dict)
    fetches: dict[tuple[str, str], MediaFetch] = field(default_factory=dict)

    def _file(self, content: Content) -> MediaFile | None:
        sha = content.sha256
        if sha is None:
            return None
        if sha not in self.files:
            if content.prepared is not None:
                self.files[sha] = media_store.save(content.prepared)
            else:
                assert content.media is not None
                used = media_store.touch({"pk": content.media.pk}, timezone.now())
                if used is None:  # pruned since the request was checked
                    raise MessageValidationError(
                        {"media_id": [_("There is no such media file; upload it first.")]}
                    )
                self.files[sha] = used
        return self.files[sha]

    def _fetch(self, content: Content) -> MediaFetch | None:
        if not content.media_url:
            return None
        key = (content.media_url, content.kind)
        if key not in self.fetches:
            self.fetches[key] = media_fetch.create(content.media_url, content.kind)
        return self.fetches[key]

    def apply(self, row: OutboundMessage, content: Content) -> None:
        """Fill the row's content fields; raises MessageValidationError if its file is gone."""
        row.kind = content.kind
        row.content = content.data
        row.reply_to = content.reply_to
        row.quoted_id = content.quoted_id
        row.media = self._file(content)
        row.media_fetch = self._fetch(content)
        row.awaiting_media = row.media_fetch is not None
        media = row.media
        row.filename = content.filename or (
            media_types.default_filename(content.kind, media.filename, media.mime_type)
            if media
            else ""
        )
