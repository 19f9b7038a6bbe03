"""Pydantic schemas of webhook endpoints, and the JSON Schemas of the events they receive (added
to the OpenAPI document's `webhooks` by rest/docs.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from ninja import Schema
from pydantic import Field, WithJsonSchema

from whatsapp.models.webhook import EventType
from whatsapp.services.webhook_endpoints import MAX_DESCRIPTION_LENGTH, MAX_URL_LENGTH
from whatsapp.services.webhook_events import SESSION_EVENT_STATUSES

from .schemas import Strict, nullable

# Checked by the service shared with the dashboard and the command (same reasons everywhere).
UrlText = Annotated[
    object,
    WithJsonSchema(
        {
            "type": "string",
            "format": "uri",
            "maxLength": MAX_URL_LENGTH,
            "examples": ["https://app.example.com/whatsapp/events"],
        }
    ),
]
# A type given twice is kept once (services/webhook_endpoints.clean_events), not refused: the
# document must not promise a 400 for it.
EventList = Annotated[
    object,
    WithJsonSchema(nullable({"type": "array", "items": {"enum": list(EventType.values)}})),
]
SlugText = Annotated[object, WithJsonSchema(nullable({"type": "string", "maxLength": 50}))]
Description = Annotated[
    object, WithJsonSchema(nullable({"type": "string", "maxLength": MAX_DESCRIPTION_LENGTH}))
]


class NewEndpoint(Strict):
    url: UrlText = Field(description="Where events are posted: http or https.")
    events: EventList = Field(None, description="The event types it receives; all when absent.")
    instance: SlugText = Field(
        None, description="Only this instance's events; every instance's when absent."
    )
    description: Description = Field(None)


class Endpoint(Schema):
    id: str
    url: str
    description: str
    events: list[str] | None = Field(description="The event types it receives; null: all.")
    instance: str | None
    enabled: bool
    disabled_at: datetime | None
    disabled_reason: str
    last_success_at: datetime | None
    failing_since: datetime | None = Field(
        description="The first failed delivery since the last success."
    )
    created_at: datetime


class EndpointCreated(Endpoint):
    secret: str = Field(
        description="The signing secret (`whsec_…`), shown this once: keep it to verify "
        "signatures (docs/events.md)."
    )


class EndpointList(Schema):
    results: list[Endpoint]


class Delivery(Schema):
    id: int
    event_id: str
    type: str
    state: str = Field(description="pending, running, done or failed.")
    attempts: int
    http_status: int | None
    duration_ms: int | None
    answer: str = Field(description="The first bytes of the endpoint's answer.")
    error: str
    created_at: datetime
    delivered_at: datetime | None
    next_attempt_at: datetime | None


class EndpointDetail(Endpoint):
    deliveries: list[Delivery] = Field(description="The 50 most recent deliveries, newest first.")


class TestQueued(Endpoint):
    delivery: Delivery = Field(description="The test event's delivery, queued.")


def _event(event_type: str, data: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "required": ["id", "type", "created_at", "instance", "data"],
        "properties": {
            "id": {"type": "string", "pattern": "^evt_", "description": "Also `webhook-id`."},
            "type": {"const": event_type},
            "created_at": {"type": "string", "format": "date-time"},
            "instance": nullable({"type": "string"}),
            "data": data,
        },
    }


SESSION_DATA = {
    "type": "object",
    "required": ["status", "gateway_status", "previous_gateway_status", "reason", "at"],
    "properties": {
        "status": {"enum": list(SESSION_EVENT_STATUSES)},
        "gateway_status": {"type": "string"},
        "previous_gateway_status": {"type": "string"},
        "reason": {"type": "string"},
        "at": {"type": "string", "format": "date-time"},
    },
}
TEST_DATA = {
    "type": "object",
    "properties": {"endpoint": {"type": "string"}, "message": {"type": "string"}},
}
EVENT_SCHEMAS: dict[str, dict[str, Any]] = {
    "MessageStatusEvent": _event(
        EventType.MESSAGE_STATUS,
        {"$ref": "#/components/schemas/MessageDetail"},
        "A message's status changed (sent, delivered, read, failed, expired, cancelled, "
        "undelivered); `data` is the message as `GET /messages/{id}` gives it, `metadata` "
        "included.",
    ),
    "MessageReceivedEvent": _event(
        EventType.MESSAGE_RECEIVED,
        {"$ref": "#/components/schemas/Inbound"},
        "Someone sent a message to an instance; `data` is the message as "
        "`GET /inbound/{id}` gives it.",
    ),
    "SessionStatusEvent": _event(
        EventType.SESSION_STATUS, SESSION_DATA, "An instance's session changed."
    ),
    "WebhookTestEvent": _event(
        EventType.WEBHOOK_TEST, TEST_DATA, "Sent by `POST /webhooks/{id}/test`."
    ),
}
