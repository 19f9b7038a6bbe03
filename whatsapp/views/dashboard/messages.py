"""The messages page and its actions, and the session page's test message endpoints."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django.contrib import messages as flash
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from whatsapp import access, audit, uploads
from whatsapp.models import OutboundMessage
from whatsapp.models.message import CANCELLABLE_STATUSES, REQUEUEABLE_STATUSES, MessageStatus
from whatsapp.services import outbox
from whatsapp.services.instances import InstanceNotFound, get_instance
from whatsapp.services.media_store import Prepared
from whatsapp.services.message_json import message_json
from whatsapp.views.dashboard.common import can_operate, page, page_context, reader_zone
from whatsapp.views.dashboard.review import review_context
from whatsapp.views.jsonapi import OPERATE, VIEW, error, read_body, staff_required

PAGE_SIZE = 50
PERIODS = {
    "1h": (timedelta(hours=1), gettext_lazy("Last hour")),
    "24h": (timedelta(hours=24), gettext_lazy("Last 24 hours")),
    "7d": (timedelta(days=7), gettext_lazy("Last 7 days")),
    "30d": (timedelta(days=30), gettext_lazy("Last 30 days")),
}


def message_status_url(message: OutboundMessage) -> str:
    return reverse("dashboard-message-status", args=[message.pk])


def visible(request: HttpRequest) -> QuerySet[OutboundMessage]:
    """The messages of the instances this user may use."""
    return access.restrict(OutboundMessage.objects.all(), request.user)


def filtered(request: HttpRequest, params: dict[str, str]) -> QuerySet[OutboundMessage]:
    queryset = visible(request).select_related("instance", "media").prefetch_related("attempt_log")
    if params.get("status") in MessageStatus.values:
        queryset = queryset.filter(status=params["status"])
    if params.get("instance"):
        queryset = queryset.filter(instance__slug=params["instance"])
    digits = "".join(ch for ch in params.get("recipient", "") if ch.isdigit())
    if digits:
        queryset = queryset.filter(recipient__contains=digits)
    period = PERIODS.get(params.get("period", ""))
    if period:
        queryset = queryset.filter(created_at__gte=timezone.now() - period[0])
    return queryset.order_by("-created_at")


@page
@require_GET
def messages_page(request: HttpRequest) -> HttpResponse:
    keys = ("status", "instance", "recipient", "period")
    params = {key: request.GET.get(key, "").strip() for key in keys}
    paginator = Paginator(filtered(request, params), PAGE_SIZE)
    page_obj = paginator.get_page(request.GET.get("page"))
    query = urlencode({k: v for k, v in params.items() if v})
    context = {
        **page_context(request, "messages", None),
        "params": params,
        "page_obj": page_obj,
        "query": query,
        "statuses": MessageStatus.choices,
        "periods": [(key, label) for key, (_delta, label) in PERIODS.items()],
        **_row_context(request, request.get_full_path()),
        **review_context(request),
    }
    return render(request, "whatsapp/messages.html", context)


# At most one page of the list is followed.
ROWS_MAX = PAGE_SIZE


def _row_context(request: HttpRequest, next_url: str) -> dict[str, Any]:
    return {
        "can_operate": can_operate(request),
        "cancellable": [str(s) for s in CANCELLABLE_STATUSES],
        "requeueable": [str(s) for s in REQUEUEABLE_STATUSES],
        "current_url": next_url,
    }


@never_cache
@require_GET
@staff_required(VIEW)
def message_rows(request: HttpRequest) -> JsonResponse:
    """The rows the messages page shows, rendered again, for it to update them in place."""
    wanted: list[UUID] = []
    for raw in request.GET.get("ids", "").split(",")[:ROWS_MAX]:
        try:
            wanted.append(UUID(raw.strip()))
        except ValueError:
            continue
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
        next_url = reverse("dashboard-messages")
    context = _row_context(request, next_url)
    rows = {}
    with timezone.override(reader_zone(request)):
        for message in filtered(request, {}).filter(pk__in=wanted):
            rows[str(message.pk)] = {
                "status": message.status,
                "html": render_to_string(
                    "whatsapp/_message_item.html", {**context, "m": message}, request=request
                ),
            }
    return JsonResponse({"success": True, "rows": rows})


def _back(request: HttpRequest) -> HttpResponse:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
        target = reverse("dashboard-messages")
    return redirect(target)


def _transition(
    request: HttpRequest, message_id: UUID, change: Callable[..., object], done: str
) -> HttpResponse:
    get_object_or_404(visible(request), pk=message_id)
    try:
        change(message_id, within=visible(request), actor=audit.actor_of(request))
    except (outbox.InvalidTransition, outbox.MessageNotFound) as exc:
        flash.error(request, str(exc))
    else:
        flash.success(request, done)
    return _back(request)


@require_POST
@staff_required(OPERATE)
def cancel_view(request: HttpRequest, message_id: UUID) -> HttpResponse:
    return _transition(request, message_id, outbox.cancel_message, _("The message was cancelled."))


@require_POST
@staff_required(OPERATE)
def requeue_view(request: HttpRequest, message_id: UUID) -> HttpResponse:
    return _transition(
        request, message_id, outbox.requeue_message, _("The message is back in the queue.")
    )


# The send-test body speaks the previous system's field names and the form's; the queue speaks
# the API's.
FIELD_NAMES = {
    "to": "phone",
    "text": "message",
    "caption": "message",
    "location.latitude": "latitude",
    "location.longitude": "longitude",
    "location.name": "place",
    "location": "latitude",
}


def _number(value: object) -> object:
    """A form's coordinate as a number when it reads as one; as it came otherwise (refused)."""
    if isinstance(value, str):
        try:
            number = float(value.strip().replace(",", "."))
        except ValueError:
            return value
        return number if math.isfinite(number) else value
    return value


def _test_content(
    body: dict[str, Any], file: Prepared | None
) -> tuple[object, dict[str, Any] | None]:
    """(text, content) of the test message: a text, an attachment or a location."""
    kind = body.get("type") or "text"
    if kind == "file" or file is not None:
        return None, {"caption": body.get("message")}
    if kind == "location":
        place = {
            "latitude": _number(body.get("latitude")),
            "longitude": _number(body.get("longitude")),
        }
        if body.get("place"):
            place["name"] = body.get("place")
        return None, {"location": place}
    return body.get("message"), None


@csrf_exempt  # checked below, once the upload handler is in place (uploads.expect)
@never_cache
@require_POST
@staff_required(OPERATE)
def send_test(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    handler = uploads.expect(request) if request.content_type == "multipart/form-data" else None
    return _send_test(request, slug, handler)


@csrf_protect
def _send_test(
    request: HttpRequest, slug: str | None, handler: uploads.CappedUpload | None
) -> JsonResponse:
    try:
        instance = get_instance(slug)
    except InstanceNotFound as exc:
        return error(str(exc), "instance_not_found", 404)
    if not access.may_use(request.user, instance):
        return error(_("There is no such WhatsApp instance."), "instance_not_found", 404)
    file = None
    try:
        if handler is not None:
            file = uploads.receive(request, "file", required=False, handler=handler)
        body = read_body(request)
    except uploads.UploadProblem as exc:
        return error(exc.reason, "invalid", 422, errors={exc.field: [exc.reason]})
    except ValueError as exc:
        return error(str(exc), "bad_request", 400)
    if body.get("type") == "file" and file is None:
        reason = _("Choose the file to send.")
        return error(reason, "invalid", 422, errors={"file": [reason]})
    text, content = _test_content(body, file)
    try:
        message = outbox.enqueue(
            instance,
            body.get("phone"),
            text,
            content=content,
            file=file,
            enqueued_by=request.user.get_username(),
        )
    except outbox.MessageValidationError as exc:
        errors = {FIELD_NAMES.get(k, k): v for k, v in exc.errors.items()}
        first = next(iter(errors.values()), [""])[0]
        return error(first, "invalid", 422, errors=errors)
    return JsonResponse(
        {
            "success": True,
            "message": message_json(message),
            "status_url": message_status_url(message),
        },
        status=202,
    )


@never_cache
@require_GET
@staff_required(VIEW)
def message_status(request: HttpRequest, message_id: UUID) -> JsonResponse:
    message = visible(request).select_related("instance", "media").filter(pk=message_id).first()
    if message is None:
        return error(_("There is no such message."), "message_not_found", 404)
    return JsonResponse({"success": True, "message": message_json(message, attempts=True)})
