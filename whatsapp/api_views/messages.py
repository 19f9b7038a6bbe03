"""POST/GET /api/v1/messages, GET /api/v1/messages/<id>, POST /api/v1/messages/<id>/cancel."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from whatsapp.models import ApiKey, OutboundMessage
from whatsapp.models.message import MessageStatus
from whatsapp.phones import InvalidPhone, normalize
from whatsapp.services import outbox
from whatsapp.services.message_json import message_json

from .auth import api_key_required, error

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
FIELDS = ("to", "text", "instance", "send_after", "expires_at", "priority")


def _read_json(request: HttpRequest) -> dict[str, Any]:
    try:
        data = json.loads(request.body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError(_("The request body is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise ValueError(_("The request body must be a JSON object."))
    return data


def _invalid(exc: outbox.MessageValidationError, status: int = 400) -> JsonResponse:
    body = outbox.api_error_body(exc)
    code = "idempotency_conflict" if isinstance(exc, outbox.IdempotencyConflict) else "invalid"
    return error(body["message"], code, status, exc.errors)


def _create(request: HttpRequest, api_key: ApiKey) -> HttpResponse:
    try:
        data = _read_json(request)
    except ValueError as exc:
        return error(str(exc), "bad_request", 400)
    key = request.headers.get("Idempotency-Key") or data.get("idempotency_key")
    try:
        send = outbox.validate(
            data.get("to"),
            data.get("text"),
            instance=data.get("instance"),
            idempotency_key=key,
            send_after=data.get("send_after"),
            expires_at=data.get("expires_at"),
            priority=data.get("priority", "normal"),
        )
        message, created = outbox.enqueue_request(send, enqueued_by=f"api:{api_key.name}")
    except outbox.IdempotencyConflict as exc:
        return _invalid(exc, 422)
    except outbox.MessageValidationError as exc:
        return _invalid(exc)
    response = JsonResponse(message_json(message), status=201)
    if not created:
        response["Idempotent-Replayed"] = "true"
    return response


def _cursor(message: OutboundMessage) -> str:
    raw = f"{message.created_at.isoformat()}|{message.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _from_cursor(cursor: str) -> tuple[datetime, UUID]:
    padded = cursor + "=" * (-len(cursor) % 4)
    created, _sep, ident = base64.urlsafe_b64decode(padded).decode().partition("|")
    when = parse_datetime(created)
    if when is None:
        raise ValueError(cursor)
    return when, UUID(ident)


def _time_param(value: str, field: str, errors: dict[str, list[str]]) -> datetime | None:
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        errors[field] = [_("Enter a date and time in ISO 8601, e.g. 2030-01-31T14:30:00Z.")]
        return None
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


def _list(request: HttpRequest) -> HttpResponse:
    params = request.GET
    errors: dict[str, list[str]] = {}
    queryset = OutboundMessage.objects.select_related("instance")
    if params.get("status"):
        wanted = [s.strip() for s in params["status"].split(",") if s.strip()]
        bad = [s for s in wanted if s not in MessageStatus.values]
        if bad:
            errors["status"] = [
                _("Unknown status: %(bad)s. Use one of: %(all)s.")
                % {"bad": ", ".join(bad), "all": ", ".join(MessageStatus.values)}
            ]
        queryset = queryset.filter(status__in=wanted)
    if params.get("instance"):
        queryset = queryset.filter(instance__slug=params["instance"])
    if params.get("recipient"):
        try:
            queryset = queryset.filter(recipient=normalize(params["recipient"]))
        except InvalidPhone as exc:
            errors["recipient"] = [str(exc)]
    for field, lookup in (
        ("created_after", "created_at__gte"),
        ("created_before", "created_at__lt"),
    ):
        if params.get(field):
            when = _time_param(params[field], field, errors)
            if when is not None:
                queryset = queryset.filter(**{lookup: when})
    limit = DEFAULT_LIMIT
    if params.get("limit"):
        try:
            limit = int(params["limit"])
            if not 1 <= limit <= MAX_LIMIT:
                raise ValueError(limit)
        except ValueError:
            errors["limit"] = [_("Use a whole number from 1 to %(max)s.") % {"max": MAX_LIMIT}]
    if params.get("cursor"):
        try:
            created, ident = _from_cursor(params["cursor"])
            queryset = queryset.filter(
                Q(created_at__lt=created) | Q(created_at=created, id__lt=ident)
            )
        except (ValueError, UnicodeDecodeError):
            errors["cursor"] = [_("This cursor is not one this API gave out.")]
    if errors:
        first = next(iter(errors.values()))[0]
        return error(first, "invalid", 400, errors)
    page = list(queryset.order_by("-created_at", "-id")[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return JsonResponse(
        {
            "results": [message_json(m) for m in page],
            "next_cursor": _cursor(page[-1]) if more and page else None,
        }
    )


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
@api_key_required
def messages(request: HttpRequest, api_key: ApiKey) -> HttpResponse:
    if request.method == "POST":
        return _create(request, api_key)
    return _list(request)


def _not_found() -> JsonResponse:
    return error(_("There is no such message."), "not_found", 404)


@csrf_exempt
@never_cache
@require_http_methods(["GET"])
@api_key_required
def detail(request: HttpRequest, message_id: UUID, api_key: ApiKey) -> HttpResponse:
    try:
        message = outbox.get_message(message_id)
    except outbox.MessageNotFound:
        return _not_found()
    return JsonResponse(message_json(message, attempts=True))


@csrf_exempt
@require_POST
@api_key_required
def cancel(request: HttpRequest, message_id: UUID, api_key: ApiKey) -> HttpResponse:
    try:
        message = outbox.cancel_message(message_id)
    except outbox.MessageNotFound:
        return _not_found()
    except outbox.InvalidTransition as exc:
        return error(str(exc), "not_cancellable", 409)
    return JsonResponse(message_json(message))
