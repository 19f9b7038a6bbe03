"""Pydantic schemas of messages, batches and errors: what the OpenAPI document is made from.

Requests are checked here for their JSON shape only (types, unknown fields); the rules (a real
phone number, a known instance, a future expiry) are the outbox's, shared with the Python API,
so both answer the same reasons. Limits the outbox enforces are documented here for clients.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from ninja import Schema
from pydantic import ConfigDict, Field, ModelWrapValidatorHandler, WithJsonSchema, model_validator

from whatsapp.models.message import MessageKind, MessageStatus
from whatsapp.services.batch import MAX_BATCH
from whatsapp.services.message_content import MAX_INLINE_BYTES
from whatsapp.services.message_fields import MAX_CAPTION_LENGTH, MAX_FILENAME_LENGTH
from whatsapp.services.message_metadata import MAX_METADATA_BYTES
from whatsapp.services.message_query import MAX_LIMIT
from whatsapp.services.outbox import MAX_KEY_LENGTH, MAX_TEXT_LENGTH

Priority = Literal["high", "normal", "low"]
NULL = {"type": "null"}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, NULL]}


# Request fields whose rules the outbox checks: documented here, passed on as they came.
# Checking types here too would answer the same mistake with other words than the Python API
# (and stop at the first bad field); the outbox names every bad field, in both.
PhoneText = Annotated[object, WithJsonSchema({"type": "string", "examples": ["+55 21 99999-9999"]})]
MessageText = Annotated[
    object, WithJsonSchema({"type": "string", "minLength": 1, "maxLength": MAX_TEXT_LENGTH})
]
OptionalText = Annotated[object, WithJsonSchema(nullable({"type": "string"}))]
PriorityName = Annotated[
    object, WithJsonSchema(nullable({"enum": ["high", "normal", "low"], "default": "normal"}))
]
DateTime = Annotated[object, WithJsonSchema(nullable({"type": "string", "format": "date-time"}))]
KeyText = Annotated[
    object, WithJsonSchema(nullable({"type": "string", "maxLength": MAX_KEY_LENGTH}))
]
JsonObject = Annotated[object, WithJsonSchema(nullable({"type": "object"}))]
TypeName = Annotated[
    object, WithJsonSchema(nullable({"enum": list(MessageKind.values), "default": "text"}))
]
LocationObject = Annotated[
    object,
    WithJsonSchema(
        nullable(
            {
                "type": "object",
                "required": ["latitude", "longitude"],
                "additionalProperties": False,
                "properties": {
                    "latitude": {"type": "number", "minimum": -90, "maximum": 90},
                    "longitude": {"type": "number", "minimum": -180, "maximum": 180},
                    "name": {"type": "string", "maxLength": 256},
                    "address": {"type": "string", "maxLength": 256},
                },
            }
        )
    ),
]
ContactObject = Annotated[
    object,
    WithJsonSchema(
        nullable(
            {
                "type": "object",
                "required": ["name", "phones"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 256},
                    "phones": {
                        "type": "array",
                        "items": {"type": "string"},
                        "minItems": 1,
                        "maxItems": 1,
                    },
                },
            }
        )
    ),
]
PageSize = Annotated[
    object, WithJsonSchema({"type": "integer", "minimum": 1, "maximum": MAX_LIMIT})
]


class Strict(Schema):
    # An unknown field is refused, named: a misspelt `send_afer` must not send at once.
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="wrap")
    @classmethod
    def _run_root_validator(cls, values: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        """Validated once, as given. ninja's own validator (replaced here, by name) validates a
        schema that forbids extra fields twice, the second time through a getter that reads
        attributes off ORM objects: only answers are made from those, never a request's body."""
        return handler(values)


class NewMessage(Strict):
    # `text` for a text, a file's source for a file, and so on: only `to` is always needed.
    model_config = ConfigDict(extra="forbid", json_schema_extra={"required": ["to"]})

    to: PhoneText = Field(
        None,
        description="Phone number in any common format; numbers without a country code are "
        "read in `DEFAULT_REGION`. Stored as E.164 digits. Or a group's id as the gateway gives "
        "it (`120363…@g.us`), or a contact's LID (`…@lid`).",
    )
    type: TypeName = Field(
        None,
        description="`text` (default), `image`, `video`, `audio`, `voice` (a voice note), "
        "`document`, `location` or `contact`. Left out, it is taken from the fields given (a "
        "file's type from its bytes).",
    )
    text: MessageText = Field(
        None, description=f"A text message's text, 1 to {MAX_TEXT_LENGTH} characters."
    )
    caption: OptionalText = Field(
        None,
        description=f"An image's, video's or document's text, at most {MAX_CAPTION_LENGTH} "
        "characters.",
    )
    filename: OptionalText = Field(
        None,
        description=f"The file's name as the recipient sees it (documents), at most "
        f"{MAX_FILENAME_LENGTH} characters; the uploaded name when absent.",
    )
    media_id: OptionalText = Field(
        None, description="The `id` that `POST /media` answered for an uploaded file."
    )
    media_base64: OptionalText = Field(
        None,
        description=f"The file itself in base64 (a `data:` URL too), up to {MAX_INLINE_BYTES} "
        "bytes of file.",
    )
    media_url: OptionalText = Field(
        None,
        description="An http(s) address a worker fetches the file from, once; the message "
        "waits for it and fails with the reason if the fetch fails. Needs `type`.",
    )
    location: LocationObject = Field(None, description="For `type: location`.")
    contact: ContactObject = Field(
        None, description="For `type: contact`: a name and one phone number."
    )
    reply_to: OptionalText = Field(
        None,
        description="Quote an earlier message: one of ours (its `id`) or any message by its "
        "gateway id (`false_…` for a received one). Not for locations and contacts.",
    )
    instance: OptionalText = Field(
        None, description="Instance slug; the default instance if absent."
    )
    priority: PriorityName = Field(None, description="Higher priorities are sent first.")
    send_after: DateTime = Field(None, description="Not before this time (ISO 8601).")
    expires_at: DateTime = Field(None, description="Give up after this time (ISO 8601).")
    idempotency_key: KeyText = Field(
        None, description="As the `Idempotency-Key` header (the header wins when both are given)."
    )
    metadata: JsonObject = Field(
        None,
        description=f"Your own JSON object (at most {MAX_METADATA_BYTES} bytes), returned with "
        "the message.",
    )


class MediaInfo(Schema):
    id: UUID
    sha256: str
    size: int = Field(description="Bytes.")
    mime_type: str = Field(description="Read from the file's bytes.")
    filename: str


class Attempt(Schema):
    number: int
    started_at: datetime | None
    finished_at: datetime | None
    outcome: str
    http_status: int | None
    duration_ms: int | None
    error: str


class Message(Schema):
    id: UUID
    instance: str
    to: str = Field(description="E.164 digits, no `+`; or a group id, or a LID.")
    recipient_type: Literal["person", "group"] = Field(
        "person", description="Present for a group (absent: a person)."
    )
    type: MessageKind = Field(
        MessageKind.TEXT, description="Present for every type but text (absent: a text)."
    )
    text: str = Field(description="A text message's text; empty for other types.")
    status: MessageStatus
    priority: Priority
    attempts: int
    send_after: datetime | None
    expires_at: datetime | None
    gateway_message_id: str | None
    ack: int | None
    sent_at: datetime | None
    delivered_at: datetime | None
    read_at: datetime | None
    failed_at: datetime | None
    last_error: str
    created_at: datetime
    updated_at: datetime
    idempotency_key: str | None
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Present when the message was given metadata."
    )
    caption: str | None = Field(None, description="Images, videos and documents.")
    filename: str | None = Field(None, description="Files.")
    media: MediaInfo | None = Field(
        None, description="Files: the stored file; null while a `media_url` is being fetched."
    )
    location: dict[str, Any] | None = Field(None, description="Locations.")
    contact: dict[str, Any] | None = Field(None, description="Contact cards.")
    reply_to: str | None = Field(None, description="What it quotes, as it was given.")


class MessageDetail(Message):
    attempt_log: list[Attempt]


class MessagePage(Schema):
    results: list[Message]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at end.")


class Error(Schema):
    success: Literal[False]
    message: str = Field(description="The first reason, ready to show.")
    code: str = Field(description="Stable: `invalid`, `bad_request`, `not_found`, …")
    errors: dict[str, list[str]] = Field(description="Each bad field with its reasons.")


class NewBatch(Strict):
    # Items are objects here; their fields are judged one item at a time, so that a bad item gets
    # its errors in place instead of failing the batch. The document points items at NewMessage.
    messages: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description=f"1 to {MAX_BATCH} messages, each as for `POST /messages`.",
    )


class BatchAccepted(Schema):
    index: int
    ok: Literal[True]
    replayed: bool = Field(description="True when its idempotency key had made it before.")
    message: Message


class BatchRejected(Schema):
    index: int
    ok: Literal[False]
    code: str = Field(description="`invalid`, `idempotency_conflict` or `instance_not_allowed`.")
    errors: dict[str, list[str]]


class BatchResult(Schema):
    results: list[BatchAccepted | BatchRejected] = Field(description="One per item, in order.")
    created: int
    replayed: int
    rejected: int
