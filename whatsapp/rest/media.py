"""POST /media (upload a file, once, for any number of messages) and GET /media/{id}."""

from __future__ import annotations

from uuid import UUID

from django.http import FileResponse, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from ninja import Router

from whatsapp import access, uploads
from whatsapp.csp import FILE_POLICY, HEADER
from whatsapp.models import MediaFile
from whatsapp.scopes import Scope
from whatsapp.services import media_store, message_fields
from whatsapp.services.message_json import media_json

from .auth import key_of, needs
from .errors import ApiError, invalid
from .schemas import Error, MediaInfo

router = Router(tags=["media"])

UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "filename": {
                            "type": "string",
                            "maxLength": message_fields.MAX_FILENAME_LENGTH,
                            "description": "The name recipients see; the file's own when absent.",
                        },
                    },
                }
            }
        },
    }
}


@router.post(
    "/media",
    url_name="api-media-upload",
    summary="Upload a file to send",
    response={201: MediaInfo, 400: Error, 401: Error, 403: Error, 413: Error},
    openapi_extra=UPLOAD_BODY,
    auth=needs(Scope.SEND),
)
def upload_media(request: HttpRequest) -> JsonResponse:
    """A multipart form with the file in `file`. Its type is read from its bytes; it must be one
    some type of message can carry, within that type's size cap. Stored once per content (the
    same file again answers the same `id`); send it with `media_id`. Unused files are deleted
    after `MEDIA_RETENTION_DAYS`.
    """
    if request.content_type != "multipart/form-data":
        raise invalid({"file": [_("Send the file as multipart/form-data, in the field “file”.")]})
    try:
        prepared = uploads.receive(request)
        assert prepared is not None
        uploads.check_sendable(prepared)
    except uploads.UploadProblem as exc:
        code = "too_large" if exc.status == 413 else "invalid"
        raise invalid({exc.field: [exc.reason]}, code, exc.status) from None
    errors: dict[str, list[str]] = {}
    name = message_fields.filename(request.POST.get("filename"), errors) or prepared.filename
    if errors:
        raise invalid(errors)
    prepared.filename = name
    media = media_store.save(prepared)
    return JsonResponse({**media_json(media), "filename": name or media.filename}, status=201)


@router.get(
    "/media/{id}",
    url_name="api-media",
    summary="Download a file",
    response={200: None, 401: Error, 403: Error, 404: Error},
    auth=needs(Scope.READ),
    openapi_extra={
        "responses": {
            200: {
                "description": "The file, with its type (read from its bytes) and name.",
                "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def download_media(request: HttpRequest, id: str) -> FileResponse:
    """A file of a message this key may read, or one received by an instance it uses (an inbound
    message's). A key on every instance with `read-all` may download any file, its own uploads
    before they are sent too.
    """
    try:
        media = MediaFile.objects.filter(pk=UUID(id)).first()
    except ValueError:
        media = None
    if media is not None and not access.may_read_media(key_of(request), media):
        media = None  # the same answer as a file that does not exist: ids are not disclosed
    if media is None or not media_store.storage().exists(media.storage_name):
        raise ApiError(_("There is no such file."), "not_found", 404)
    return file_response(media, attachment=True)


def file_response(media: MediaFile, *, attachment: bool) -> FileResponse:
    """The stored file, streamed. Never rendered by a browser as a page of this site."""
    response = FileResponse(
        media_store.open_file(media),
        content_type=media.mime_type,
        as_attachment=attachment,
        filename=media.filename or f"{media.sha256[:12]}",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response[HEADER] = FILE_POLICY
    return response
