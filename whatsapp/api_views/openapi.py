"""The OpenAPI 3.1 document of /api/v1/, and a plain HTML page rendering it (no CDN)."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from whatsapp.models.message import MessageStatus

ERROR = {"$ref": "#/components/schemas/Error"}
MESSAGE = {"$ref": "#/components/schemas/Message"}
ID_PARAM = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "format": "uuid"},
}
TIME = {"type": ["string", "null"], "format": "date-time"}
EXAMPLE_MESSAGE = {
    "id": "6f1c2b1e-8d1a-4a53-9a57-0b0f7f1e2d3c",
    "instance": "main",
    "to": "5521999999999",
    "text": "Your order has shipped",
    "status": "queued",
    "priority": "normal",
    "attempts": 0,
    "send_after": None,
    "expires_at": None,
    "gateway_message_id": None,
    "ack": None,
    "sent_at": None,
    "delivered_at": None,
    "read_at": None,
    "failed_at": None,
    "last_error": "",
    "created_at": "2030-01-31T14:30:00.123456+00:00",
    "updated_at": "2030-01-31T14:30:00.123456+00:00",
    "idempotency_key": "order-1234-shipped",
}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "Bad input: `errors` names each field and its reasons.",
        401: "Missing or wrong API key.",
        404: "No such message.",
        409: "The message can no longer be cancelled.",
        422: "The Idempotency-Key was used before with another payload.",
    }
    return {
        str(code): {"description": text[code], "content": {"application/json": {"schema": ERROR}}}
        for code in codes
    }


def document(server_url: str = "/") -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "leguas-whatsapp",
            "version": "1",
            "description": (
                "Queue WhatsApp messages and follow them to read. Authenticate with "
                "`Authorization: Bearer <key>` (`manage.py whatsapp_apikey create NAME`)."
            ),
        },
        "servers": [{"url": server_url}],
        "security": [{"apiKey": []}],
        "paths": {
            "/api/v1/messages": {
                "post": {
                    "summary": "Queue a text message",
                    "operationId": "createMessage",
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "description": (
                                "Same key and payload: the first answer again, with "
                                "`Idempotent-Replayed: true`. Other payload: 422."
                            ),
                            "schema": {"type": "string", "maxLength": 200},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/NewMessage"},
                                "example": {
                                    "to": "+55 21 99999-9999",
                                    "text": "Your order has shipped",
                                    "priority": "high",
                                    "expires_at": "2030-01-31T18:00:00Z",
                                },
                            }
                        },
                    },
                    "responses": {
                        "201": {
                            "description": "Queued (or replayed).",
                            "content": {
                                "application/json": {"schema": MESSAGE, "example": EXAMPLE_MESSAGE}
                            },
                        },
                        **_errors(400, 401, 422),
                    },
                },
                "get": {
                    "summary": "List messages, newest first",
                    "operationId": "listMessages",
                    "parameters": [
                        {
                            "name": "status",
                            "in": "query",
                            "description": "One status or several, comma-separated.",
                            "schema": {"type": "string"},
                        },
                        {"name": "instance", "in": "query", "schema": {"type": "string"}},
                        {
                            "name": "recipient",
                            "in": "query",
                            "description": "A phone number, in any format the API accepts.",
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "created_after",
                            "in": "query",
                            "schema": {"type": "string", "format": "date-time"},
                        },
                        {
                            "name": "created_before",
                            "in": "query",
                            "schema": {"type": "string", "format": "date-time"},
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 200},
                        },
                        {
                            "name": "cursor",
                            "in": "query",
                            "description": "`next_cursor` of the previous page.",
                            "schema": {"type": "string"},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "A page of messages.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/MessagePage"}
                                }
                            },
                        },
                        **_errors(400, 401),
                    },
                },
            },
            "/api/v1/messages/{id}": {
                "get": {
                    "summary": "One message, with its attempts",
                    "operationId": "getMessage",
                    "parameters": [ID_PARAM],
                    "responses": {
                        "200": {
                            "description": "The message.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/MessageDetail"}
                                }
                            },
                        },
                        **_errors(401, 404),
                    },
                }
            },
            "/api/v1/messages/{id}/cancel": {
                "post": {
                    "summary": "Cancel a queued message",
                    "operationId": "cancelMessage",
                    "parameters": [ID_PARAM],
                    "responses": {
                        "200": {
                            "description": "Cancelled.",
                            "content": {"application/json": {"schema": MESSAGE}},
                        },
                        **_errors(401, 404, 409),
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "NewMessage": {
                    "type": "object",
                    "required": ["to", "text"],
                    "properties": {
                        "to": {"type": "string", "description": "Phone number; stored as E.164."},
                        "text": {"type": "string", "minLength": 1, "maxLength": 4096},
                        "instance": {"type": "string", "description": "Slug; default instance."},
                        "priority": {"enum": ["high", "normal", "low"], "default": "normal"},
                        "send_after": {"type": "string", "format": "date-time"},
                        "expires_at": {"type": "string", "format": "date-time"},
                    },
                },
                "Message": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "format": "uuid"},
                        "instance": {"type": "string"},
                        "to": {"type": "string", "description": "E.164 digits, no +"},
                        "text": {"type": "string"},
                        "status": {"enum": list(MessageStatus.values)},
                        "priority": {"enum": ["high", "normal", "low"]},
                        "attempts": {"type": "integer"},
                        "send_after": TIME,
                        "expires_at": TIME,
                        "gateway_message_id": {"type": ["string", "null"]},
                        "ack": {"type": ["integer", "null"]},
                        "sent_at": TIME,
                        "delivered_at": TIME,
                        "read_at": TIME,
                        "failed_at": TIME,
                        "last_error": {"type": "string"},
                        "created_at": {"type": "string", "format": "date-time"},
                        "updated_at": {"type": "string", "format": "date-time"},
                        "idempotency_key": {"type": ["string", "null"]},
                    },
                },
                "MessageDetail": {
                    "allOf": [
                        MESSAGE,
                        {
                            "type": "object",
                            "properties": {
                                "attempt_log": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Attempt"},
                                }
                            },
                        },
                    ]
                },
                "Attempt": {
                    "type": "object",
                    "properties": {
                        "number": {"type": "integer"},
                        "started_at": {"type": "string", "format": "date-time"},
                        "finished_at": TIME,
                        "outcome": {"type": "string"},
                        "http_status": {"type": ["integer", "null"]},
                        "duration_ms": {"type": ["integer", "null"]},
                        "error": {"type": "string"},
                    },
                },
                "MessagePage": {
                    "type": "object",
                    "properties": {
                        "results": {"type": "array", "items": MESSAGE},
                        "next_cursor": {"type": ["string", "null"]},
                    },
                },
                "Error": {
                    "type": "object",
                    "properties": {
                        "success": {"const": False},
                        "message": {"type": "string"},
                        "code": {"type": "string"},
                        "errors": {
                            "type": "object",
                            "additionalProperties": {"type": "array", "items": {"type": "string"}},
                        },
                    },
                    "example": {
                        "success": False,
                        "message": "This is not a phone number.",
                        "code": "invalid",
                        "errors": {"to": ["This is not a phone number."]},
                    },
                },
            },
        },
    }


@require_GET
def openapi_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse(document(request.build_absolute_uri("/")))


@require_GET
def docs(request: HttpRequest) -> HttpResponse:
    spec = document(request.build_absolute_uri("/"))
    operations = []
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op["summary"],
                    "parameters": op.get("parameters", []),
                    "body_schema": body.get("schema", {}).get("$ref", "").rpartition("/")[2],
                    "body_example": json.dumps(body["example"], indent=2) if body else "",
                    "responses": [
                        {
                            "status": status,
                            "description": answer["description"],
                            "example": json.dumps(
                                answer.get("content", {})
                                .get("application/json", {})
                                .get("example"),
                                indent=2,
                            )
                            if answer.get("content", {}).get("application/json", {}).get("example")
                            else "",
                        }
                        for status, answer in op["responses"].items()
                    ],
                }
            )
    schemas = [
        {"name": name, "json": json.dumps(schema, indent=2)}
        for name, schema in spec["components"]["schemas"].items()
    ]
    return render(
        request,
        "whatsapp/api_docs.html",
        {"info": spec["info"], "operations": operations, "schemas": schemas},
    )
