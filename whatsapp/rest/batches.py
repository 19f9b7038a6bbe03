"""POST /messages/batch: up to MAX_BATCH messages in one request, each judged on its own."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from ninja import Router

from whatsapp.services import batch
from whatsapp.services.batch import ItemResult
from whatsapp.services.message_json import message_json

from .auth import Scope, caller, key_of, needs
from .schemas import BatchResult, Error, NewBatch

router = Router(tags=["messages"])


def item_json(result: ItemResult) -> dict[str, Any]:
    if result.error is not None:
        return {
            "index": result.index,
            "ok": False,
            "code": result.code,
            "errors": result.error.errors,
        }
    assert result.message is not None
    return {
        "index": result.index,
        "ok": True,
        "replayed": not result.created,
        "message": message_json(result.message),
    }


@router.post(
    "/messages/batch",
    url_name="api-message-batch",
    auth=needs(Scope.SEND),
    summary="Queue many messages at once",
    response={201: BatchResult, 207: BatchResult, 400: Error, 401: Error},
)
def create_batch(request: HttpRequest, payload: NewBatch) -> JsonResponse:
    """Each item is a message as for `POST /messages`, with its own `idempotency_key` and
    `metadata`. An item naming an instance this key may not use is rejected
    (`instance_not_allowed`).

    The answer lists every item in order: the message (`replayed` when its key had made it
    before), or that item's `errors`. All valid items are stored in one transaction and queued
    together. `201` when every item was accepted, `207` when some were rejected.
    """
    checked = batch.check_items(payload.messages, api_key=key_of(request))
    results = batch.enqueue_many(checked, enqueued_by=caller(request), api_key=key_of(request))
    rejected = sum(1 for r in results if not r.ok)
    body = {
        "results": [item_json(r) for r in results],
        "created": sum(1 for r in results if r.created),
        "replayed": sum(1 for r in results if r.ok and not r.created),
        "rejected": rejected,
    }
    return JsonResponse(body, status=207 if rejected else 201)
