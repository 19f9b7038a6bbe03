"""GET /inbound and GET /inbound/{id}: the messages people sent to our numbers."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.db.models import QuerySet
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field

from whatsapp import access
from whatsapp.models import InboundMessage
from whatsapp.services import outbox
from whatsapp.services.inbound_json import inbound_json
from whatsapp.services.inbound_query import FILTERS, get_inbound, list_inbound
from whatsapp.services.message_query import MAX_LIMIT

from .auth import Scope, key_of, needs
from .errors import ApiError, from_validation
from .http import takes_query
from .schemas import Error, PageSize, Strict

router = Router(tags=["inbound"])


class InboundMedia(Schema):
    id: str | None = Field(description="The stored file's id; null until it is downloaded.")
    type: str = Field(description="image, video, audio, voice, document or sticker.")
    size: int | None
    mime_type: str | None
    filename: str | None
    url: str | None = Field(description="`GET` it with your API key; null until downloaded.")
    state: Literal["pending", "running", "done", "failed"]


class Inbound(Schema):
    id: str
    instance: str
    gateway_message_id: str
    type: str = Field(description="chat, image, document, audio, ptt, video, location, vcard…")
    from_: str | None = Field(
        alias="from", description="E.164 digits when WhatsApp named the sender by phone number."
    )
    from_lid: str | None = Field(description="`…@lid` when WhatsApp named only a LID.")
    push_name: str = Field(description="The name the sender chose in WhatsApp.")
    chat: str = Field(
        description="Where a reply goes (`to` of a send): digits, LID or group; in a group, "
        "`from` is the author."
    )
    is_group: bool
    text: str = Field(description="The text, or a file's caption.")
    reply_to: str | None = Field(description="The gateway id of the message it quotes.")
    sent_at: datetime | None
    received_at: datetime
    media: InboundMedia | None


class InboundPage(Schema):
    results: list[Inbound]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at end.")


class InboundFilters(Strict):
    instance: str | None = Field(None, description="An instance's slug.")
    sender: str | None = Field(None, description="A phone number (any format) or a `…@lid`.")
    chat: str | None = Field(None, description="A phone number, a `…@lid` or a group's id.")
    since: str | None = Field(
        None, description="Received at or after.", json_schema_extra={"format": "date-time"}
    )
    limit: PageSize = Field(None, description=f"Page size, 50 by default, {MAX_LIMIT} at most.")
    cursor: str | None = Field(None, description="`next_cursor` of the previous page.")


takes_query("api-inbound", "GET", FILTERS)


def _visible(request: HttpRequest) -> QuerySet[InboundMessage]:
    return access.restrict(InboundMessage.objects.all(), key_of(request))


@router.get(
    "/inbound",
    url_name="api-inbound",
    auth=needs(Scope.READ),
    summary="List received messages, newest first",
    response={200: InboundPage, 400: Error, 401: Error},
)
def get_inbound_list(request: HttpRequest, filters: Query[InboundFilters]) -> JsonResponse:
    """A page of the messages received by the key's instances, matching every filter given;
    follow `next_cursor` for the next."""
    try:
        page = list_inbound(
            within=_visible(request),
            instances=access.instances_for(key_of(request)),
            **filters.model_dump(exclude_none=True),
        )
    except outbox.MessageValidationError as exc:
        raise from_validation(exc) from None
    return JsonResponse(
        {"results": [inbound_json(r) for r in page.results], "next_cursor": page.next_cursor}
    )


@router.get(
    "/inbound/{id}",
    url_name="api-inbound-one",
    auth=needs(Scope.READ),
    summary="One received message",
    response={200: Inbound, 401: Error, 404: Error},
)
def get_inbound_one(request: HttpRequest, id: str) -> JsonResponse:
    try:
        row = get_inbound(id, within=_visible(request))
    except InboundMessage.DoesNotExist:
        raise ApiError(_("There is no such received message."), "not_found", 404) from None
    return JsonResponse(inbound_json(row))
