"""Files of messages, for staff who may view them: images shown inline (thumbnails, the test
message), anything else as a download. Never served without a login and the permission."""

from __future__ import annotations

from typing import cast
from uuid import UUID

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from whatsapp.models import MediaFile
from whatsapp.rest.media import file_response
from whatsapp.services import media_store
from whatsapp.services.media_types import IMAGES
from whatsapp.views.jsonapi import VIEW, staff_required


@require_GET
@staff_required(VIEW)
def media_file(request: HttpRequest, media_id: UUID) -> HttpResponse:
    media = MediaFile.objects.filter(pk=media_id).first()
    if media is None or not media_store.storage().exists(media.storage_name):
        raise Http404("no such file")
    inline = media.mime_type in IMAGES and request.GET.get("download") != "1"
    response = file_response(media, attachment=not inline)
    # Content addressed: the bytes behind this URL never change.
    response["Cache-Control"] = "private, max-age=86400, immutable"
    # A streaming response: what the permission decorator's views return, as far as it cares.
    return cast(HttpResponse, response)
