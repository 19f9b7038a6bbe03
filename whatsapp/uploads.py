"""Receiving a file in a multipart request: to disk in chunks, capped while it streams.

Django keeps small uploads in memory and large ones in a temporary file; here every upload goes
to a temporary file (64 KB at a time), and one larger than the cap stops the parsing at once
instead of reading it all. The file is then hashed and sniffed from that temporary file and
copied into the media storage in chunks: the web process never holds a large file in memory,
let alone twice (bench/media_bench.py measures it).
"""

from __future__ import annotations

import os

from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _

from whatsapp.services import media_store, media_types, message_fields

# Room for the form's other fields and boundaries beyond the file itself.
FORM_OVERHEAD = 64 * 1024


class UploadProblem(Exception):
    def __init__(self, field: str, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason
        self.status = status


class CappedUpload(TemporaryFileUploadHandler):
    """Always to disk; stops the request's parsing once the files pass `cap` bytes."""

    def __init__(self, request: HttpRequest, cap: int) -> None:
        super().__init__(request)
        self.cap = cap
        self.received = 0
        self.too_big = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > self.cap:
            self.too_big = True
            raise StopUpload(connection_reset=True)
        return super().receive_data_chunk(raw_data, start)


def too_big(cap: int) -> UploadProblem:
    return UploadProblem(
        "file",
        _("The file is too big: at most %(max)s MB.") % {"max": media_types.megabytes(cap)},
        413,
    )


def expect(request: HttpRequest) -> CappedUpload:
    """Set the request's upload handler: before anything reads its body (a CSRF check reads
    `request.POST`, so a view with a form takes it with `csrf_exempt`, then checks the token
    itself, as Django's documentation on upload handlers says)."""
    handler = CappedUpload(request, media_types.largest_cap())
    request.upload_handlers = [handler]
    return handler


def receive(
    request: HttpRequest,
    field: str = "file",
    *,
    required: bool = True,
    handler: CappedUpload | None = None,
) -> media_store.Prepared | None:
    """The uploaded file of `field`, read once; UploadProblem when it cannot be taken.

    The Prepared points at Django's temporary file, which Django deletes after the request.
    """
    cap = media_types.largest_cap()
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > cap + FORM_OVERHEAD:
        raise too_big(cap)
    handler = handler or expect(request)
    try:
        files = request.FILES
    except MultiPartParserError:
        raise UploadProblem("file", _("The form could not be read.")) from None
    if handler.too_big:
        raise too_big(cap)
    upload = files.get(field)
    if upload is None:
        if required:
            reason = _("Attach the file in the form field “%(field)s”.") % {"field": field}
            raise UploadProblem(field, reason)
        return None
    name = os.path.basename((upload.name or "").replace("\\", "/"))
    clean = message_fields.filename(name, {}) or ""
    path = upload.temporary_file_path()  # type: ignore[attr-defined]
    return media_store.from_path(path, clean, limit=cap)


def check_sendable(prepared: media_store.Prepared, field: str = "file") -> None:
    """An upload must be some kind of message's file (its kind is chosen when it is sent)."""
    if prepared.size == 0:
        raise UploadProblem(field, _("The file is empty."))
    mime = prepared.mime
    if mime is None or mime not in media_types.SENDABLE:
        raise UploadProblem(
            field,
            _("The file's content is not a type that can be sent (found: %(found)s).")
            % {"found": mime or _("unknown")},
        )
    cap = media_types.cap_for(mime)
    if prepared.size > cap:
        raise too_big(cap)
