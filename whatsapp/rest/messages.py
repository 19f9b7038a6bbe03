"""POST/GET /messages, GET /messages/{id}, POST /messages/{id}/cancel."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from ninja import Header, Query, Router
from pydantic import Field

from whatsapp import access, audit, lookups
from whatsapp.models import OutboundMessage
from whatsapp.services import batch, outbox
from whatsapp.services.message_json import message_json
from whatsapp.services.message_query import FILTERS, MAX_LIMIT, list_messages

from .auth import Scope, caller, key_of, needs, usable_instance
from .errors import ApiError, from_validation
from .http import takes_query
from .schemas import Error, Message, MessageDetail, MessagePage, NewMessage, PageSize, Strict

router = Router(tags=["messages"])
ERRORS = {400: Error, 401: Error}
REPLAYED = {
    "Idempotent-Replayed": {
        "description": "`true` when this is the answer to an earlier request with the same key.",
        "schema": {"type": "string", "enum": ["true"]},
    }
}


class MessageFilters(Strict):
    status: str | None = Field(None, description="One status or several, comma-separated.")
    instance: str | None = Field(None, description="An instance's slug.")
    recipient: str | None = Field(None, description="A phone number, in any format `to` takes.")
    created_after: str | None = Field(None, json_schema_extra={"format": "date-time"})
    created_before: str | None = Field(None, json_schema_extra={"format": "date-time"})
    limit: PageSize = Field(None, description=f"Page size, 50 by default, {MAX_LIMIT} at most.")
    cursor: str | None = Field(None, description="`next_cursor` of the previous page.")


takes_query("api-messages", "GET", FILTERS)


def _not_found() -> ApiError:
    return ApiError(_("There is no such message."), "not_found", 404)


def _visible(request: HttpRequest) -> QuerySet[OutboundMessage]:
    """What this key may read and cancel: its instances', its own unless it has read-all."""
    return access.messages_for_key(key_of(request))


@router.post(
    "/messages",
    url_name="api-messages",
    auth=needs(Scope.SEND),
    summary="Queue a message",
    response={201: Message, 400: Error, 401: Error, 422: Error},
    openapi_extra={"responses": {201: {"headers": REPLAYED}}},
)
def create_message(
    request: HttpRequest,
    payload: NewMessage,
    idempotency_key: str | None = Header(
        None,
        alias="Idempotency-Key",
        description="Same key and payload: the first answer again, with "
        "`Idempotent-Replayed: true`. Same key, other payload: 422.",
    ),
) -> JsonResponse:
    """Validate, store and queue one message; answers at once, before anything is sent.

    A text by default; with `type` and that type's fields, a file (`media_id` from `POST /media`,
    `media_base64` up to 1 MB, or a `media_url` fetched once), a location or a contact card, to a
    number or a group, replying to a message or not. `400` names each bad field in `errors`;
    `422` means the idempotency key was used before for another message.
    """
    item = payload.model_dump(exclude_unset=True)
    if idempotency_key:
        item["idempotency_key"] = idempotency_key
    try:
        send = batch.validate_item(item, lookups.instances(request))
        usable_instance(request, send.instance)
        message, created = outbox.enqueue_request(
            send, enqueued_by=caller(request), api_key=key_of(request)
        )
    except outbox.MessageValidationError as exc:
        raise from_validation(exc) from None
    response = JsonResponse(message_json(message), status=201)
    if not created:
        response["Idempotent-Replayed"] = "true"
    return response


@router.get(
    "/messages",
    url_name="api-messages",
    auth=needs(Scope.READ),
    summary="List messages, newest first",
    response={200: MessagePage, **ERRORS},
)
def get_messages(request: HttpRequest, filters: Query[MessageFilters]) -> JsonResponse:
    """A page of messages matching every filter given; follow `next_cursor` for the next."""
    try:
        page = list_messages(within=_visible(request), **filters.model_dump(exclude_none=True))
    except outbox.MessageValidationError as exc:
        raise from_validation(exc) from None
    return JsonResponse(
        {"results": [message_json(m) for m in page.results], "next_cursor": page.next_cursor}
    )


@router.get(
    "/messages/{id}",
    url_name="api-message",
    auth=needs(Scope.READ),
    summary="One message, with its attempts",
    response={200: MessageDetail, 401: Error, 404: Error},
)
def get_message(request: HttpRequest, id: str) -> JsonResponse:
    """The message and every attempt to send it."""
    try:
        message = outbox.get_message(id, within=_visible(request))
    except outbox.MessageNotFound:
        raise _not_found() from None
    return JsonResponse(message_json(message, attempts=True))


@router.post(
    "/messages/{id}/cancel",
    url_name="api-message-cancel",
    auth=needs(Scope.CANCEL),
    summary="Cancel a queued message",
    response={200: Message, 401: Error, 404: Error, 409: Error},
)
def cancel_message(request: HttpRequest, id: str) -> JsonResponse:
    """Only while it waits to be sent: `409` once it is being sent or done. A key cancels the
    messages it can read."""
    try:
        message = outbox.cancel_message(id, within=_visible(request), actor=audit.actor_of(request))
    except outbox.MessageNotFound:
        raise _not_found() from None
    except outbox.InvalidTransition as exc:
        raise ApiError(str(exc), "not_cancellable", 409) from None
    return JsonResponse(message_json(message))
