"""The generated OpenAPI document, and a page that renders it with the app's own template.

No CDN and no script: the page is HTML made on the server, descriptions rendered from Markdown
(raw HTML in them is escaped, not passed through).
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET
from markdown_it import MarkdownIt

from .api import api
from .auth import ApiKeyAuth
from .http import client_language

METHODS = ("get", "post", "put", "patch", "delete")
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False})


def route_scopes() -> dict[str, str]:
    """operationId → the scope its route declares (`auth=needs(Scope...)`)."""
    scopes = {}
    for _prefix, router in api._routers:
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                for auth in operation.auth_callbacks:
                    if isinstance(auth, ApiKeyAuth):
                        scopes[api.get_openapi_operation_id(operation)] = auth.scope
    return scopes


ERROR_REF = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def _declare_scopes(schema: dict[str, Any]) -> None:
    """Each operation names its scope (OpenAPI 3.1 allows role names for http schemes), says
    it in its description, and documents the 403 and 429 every scoped route can answer."""
    scopes = route_scopes()
    for methods in schema["paths"].values():
        for method in METHODS:
            operation = methods.get(method)
            scope = scopes.get(operation.get("operationId", "")) if operation else None
            if operation is None or scope is None:
                continue
            operation["security"] = [{"ApiKeyAuth": [scope]}]
            operation["x-scope"] = scope
            note = f"Needs the `{scope}` scope."
            operation["description"] = f"{operation.get('description') or ''}\n\n{note}".strip()
            responses = operation.setdefault("responses", {})
            responses.setdefault(
                "403",
                {
                    "description": "The key lacks this route's scope (`missing_scope`) or may "
                    "not use the instance (`instance_not_allowed`).",
                    "content": ERROR_REF,
                },
            )
            responses.setdefault(
                "429",
                {
                    "description": "Too many requests with this key (`rate_limited`).",
                    "headers": {
                        "Retry-After": {
                            "description": "Seconds to wait.",
                            "schema": {"type": "integer"},
                        }
                    },
                    "content": ERROR_REF,
                },
            )


def document(request: HttpRequest) -> dict[str, Any]:
    prefix = reverse("api-root")
    schema = dict(api.get_openapi_schema(path_prefix=prefix))
    _declare_scopes(schema)
    schema["servers"] = [{"url": request.build_absolute_uri("/")}]
    # Batch items are validated one by one (rest/schemas.py), but they are NewMessages.
    batch = schema["components"]["schemas"]["NewBatch"]["properties"]["messages"]
    batch["items"] = {"$ref": "#/components/schemas/NewMessage"}
    _declare_events(schema)
    return schema


def _declare_events(schema: dict[str, Any]) -> None:
    """The events posted to webhook endpoints, as OpenAPI 3.1 `webhooks` (docs/events.md)."""
    from .webhook_schemas import EVENT_SCHEMAS

    schema["components"]["schemas"].update(EVENT_SCHEMAS)
    signed = {
        name: {"required": True, "schema": {"type": "string"}, "in": "header", "name": name}
        for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
    }
    schema["webhooks"] = {
        name.removesuffix("Event"): {
            "post": {
                "summary": EVENT_SCHEMAS[name]["description"],
                "parameters": list(signed.values()),
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}
                    },
                },
                "responses": {"2XX": {"description": "Delivered; anything else is retried."}},
            }
        }
        for name in EVENT_SCHEMAS
    }


def markdown(text: str | None) -> SafeString:
    return mark_safe(_markdown.render(text or ""))  # noqa: S308 - raw HTML is disabled above


def _ref_name(schema: dict[str, Any]) -> str:
    return str(schema.get("$ref", "")).rpartition("/")[2]


def _type(schema: dict[str, Any]) -> str:
    if "type" in schema:
        return str(schema["type"])
    return " | ".join(_type(option) for option in schema.get("anyOf", []))


def _parameters(operation: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "name": p["name"],
            "in": p["in"],
            "required": p.get("required", False),
            "type": _type(p.get("schema", {})),
            "description": markdown(p.get("description") or p.get("schema", {}).get("description")),
        }
        for p in operation.get("parameters", [])
    ]


def _responses(operation: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for status, answer in operation.get("responses", {}).items():
        content: dict[str, Any] = answer.get("content", {})
        empty: dict[str, Any] = {}
        media, body = next(iter(content.items()), ("", empty))
        rows.append(
            {
                "status": status,
                "description": markdown(answer.get("description")),
                "media": media,
                "schema": _ref_name(body.get("schema", {})),
                "headers": sorted(answer.get("headers", {})),
            }
        )
    return rows


def _operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    operations = []
    for path, methods in schema["paths"].items():
        for method in METHODS:
            operation = methods.get(method)
            if operation is None:
                continue
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": markdown(operation.get("description")),
                    "parameters": _parameters(operation),
                    "body_schema": _ref_name(body.get("schema", {})),
                    "responses": _responses(operation),
                }
            )
    return operations


@require_GET
def openapi_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse(document(request), json_dumps_params={"ensure_ascii": False})


@require_GET
def docs(request: HttpRequest) -> HttpResponse:
    schema = document(request)
    schemas = [
        {"name": name, "json": json.dumps(body, indent=2, ensure_ascii=False)}
        for name, body in schema.get("components", {}).get("schemas", {}).items()
    ]
    context = {
        "info": schema["info"],
        "description": markdown(schema["info"].get("description")),
        "operations": _operations(schema),
        "schemas": schemas,
        "openapi_url": reverse("api-openapi"),
    }
    language = client_language(request)
    with translation.override(language):
        response = render(request, "whatsapp/api_docs.html", context)
    response["Content-Language"] = language
    return response
