"""Session endpoints at the previous system's paths: never wait on the gateway."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.core.cache import cache
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from whatsapp import doorbell
from whatsapp.models import Instance, SessionOperation
from whatsapp.models.operation import ACTIVE_STATUSES, OperationKind
from whatsapp.phones import InvalidPhone, normalize
from whatsapp.services.errors import render
from whatsapp.services.instances import InstanceNotFound, get_instance
from whatsapp.services.operations import request_operation
from whatsapp.views.jsonapi import OPERATE, VIEW, error, read_body, staff_required
from whatsapp.views.serialize import code_json, operation_json, operation_url, session_json

logger = logging.getLogger(__name__)

# Older stored state triggers one background refresh, shared by every poller of the instance.
STALE_AFTER = timedelta(seconds=5)
REFRESH_LOCK_SECONDS = 10


def _instance_or_error(slug: str | None) -> Instance | JsonResponse:
    try:
        return get_instance(slug)
    except InstanceNotFound as exc:
        return error(str(exc), "instance_not_found", 404)


def _operate(request: HttpRequest, slug: str | None, kind: str) -> JsonResponse:
    instance = _instance_or_error(slug)
    if isinstance(instance, JsonResponse):
        return instance
    if not instance.enabled:
        return error(render("instance_disabled"), "instance_disabled", 409)
    if not instance.has_secret_key:
        return error(render("not_configured"), "not_configured", 409)
    phone = ""
    if kind == OperationKind.START:
        try:
            body = read_body(request)
        except ValueError as exc:
            return error(str(exc), "bad_request", 400)
        if body.get("phone"):
            try:
                phone = normalize(body["phone"])
            except InvalidPhone as exc:
                return error(str(exc), "invalid", 422, errors={"phone": [str(exc)]})
    operation, created = request_operation(instance, kind, user=request.user, phone=phone)
    return JsonResponse(
        {
            "success": True,
            "created": created,
            "operation": operation_json(operation),
            "status_url": operation_url(operation),
        },
        status=202,
    )


@never_cache
@require_POST
@staff_required(OPERATE)
def start(request: HttpRequest, slug: str | None = None) -> JsonResponse:
    return _operate(request, slug, OperationKind.START)


@never_cache
@require_POST
@staff_required(OPERATE)
def close(request: HttpRequest, slug: str | None = None) -> JsonResponse:
    return _operate(request, slug, OperationKind.CLOSE)


@never_cache
@require_POST
@staff_required(OPERATE)
def logout(request: HttpRequest, slug: str | None = None) -> JsonResponse:
    return _operate(request, slug, OperationKind.LOGOUT)


@never_cache
@require_POST
@staff_required(OPERATE)
def refresh(request: HttpRequest, slug: str | None = None) -> JsonResponse:
    return _operate(request, slug, OperationKind.REFRESH)


def ask_for_refresh(instance: Instance) -> bool:
    """Ring for one refresh when the stored state is stale; a cache lock makes it one per period."""
    fresh = instance.checked_at and timezone.now() - instance.checked_at < STALE_AFTER
    if fresh or not instance.enabled or not instance.has_secret_key:
        return False
    if not cache.add(f"whatsapp:refresh:{instance.pk}", 1, REFRESH_LOCK_SECONDS):
        return False
    # A dead broker must not turn a status read into an error: the doorbell never raises.
    return doorbell.publish(doorbell.REFRESH_STATE, (instance.pk,))


@never_cache
@require_GET
@staff_required(VIEW)
def status(request: HttpRequest, slug: str | None = None) -> JsonResponse:
    instance = _instance_or_error(slug)
    if isinstance(instance, JsonResponse):
        return instance
    refreshing = ask_for_refresh(instance)
    active = SessionOperation.objects.filter(instance=instance, status__in=ACTIVE_STATUSES)
    return JsonResponse(
        {
            "success": True,
            "session": session_json(instance),
            "refreshing": refreshing,
            "operations": [operation_json(op) for op in active.select_related("instance")],
        }
    )


@never_cache
@require_GET
@staff_required(VIEW)
def qrcode(request: HttpRequest, slug: str | None = None) -> JsonResponse:
    instance = _instance_or_error(slug)
    if isinstance(instance, JsonResponse):
        return instance
    return JsonResponse({"success": True, **code_json(instance)})


@never_cache
@require_GET
@staff_required(VIEW)
def operation(request: HttpRequest, operation_id: int, slug: str | None = None) -> JsonResponse:
    found = SessionOperation.objects.select_related("instance", "requested_by").filter(
        pk=operation_id
    )
    if slug:
        found = found.filter(instance__slug=slug)
    op = found.first()
    if op is None:
        return error(_("There is no such operation."), "operation_not_found", 404)
    return JsonResponse({"success": True, "operation": operation_json(op)})
