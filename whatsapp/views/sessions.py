"""Session endpoints at the previous system's paths: never wait on the gateway."""

from __future__ import annotations

import logging

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from whatsapp import access, audit
from whatsapp.models import Instance, SessionOperation
from whatsapp.models.operation import ACTIVE_STATUSES, OperationKind
from whatsapp.phones import InvalidPhone
from whatsapp.services import session_requests
from whatsapp.services.instances import InstanceNotFound, get_instance
from whatsapp.services.session_requests import SessionRequestRefused, ask_for_refresh
from whatsapp.views.jsonapi import OPERATE, VIEW, error, read_body, staff_required
from whatsapp.views.serialize import code_json, operation_json, operation_url, session_json

logger = logging.getLogger(__name__)


def _instance_or_error(request: HttpRequest, slug: str | None) -> Instance | JsonResponse:
    try:
        instance = get_instance(slug)
    except InstanceNotFound as exc:
        return error(str(exc), "instance_not_found", 404)
    if not access.may_use(request.user, instance):
        # As for an instance that does not exist: a limited user learns nothing of the others.
        return error(_("There is no such WhatsApp instance."), "instance_not_found", 404)
    return instance


def _operate(request: HttpRequest, slug: str | None, kind: str) -> JsonResponse:
    instance = _instance_or_error(request, slug)
    if isinstance(instance, JsonResponse):
        return instance
    phone: object = None
    if kind == OperationKind.START:
        try:
            phone = read_body(request).get("phone")
        except ValueError as exc:
            return error(str(exc), "bad_request", 400)
    try:
        operation, created = session_requests.request(
            instance, kind, user=request.user, phone=phone, actor=audit.actor_of(request)
        )
    except SessionRequestRefused as refused:
        return error(str(refused), refused.code, 409)
    except InvalidPhone as exc:
        return error(str(exc), "invalid", 422, errors={"phone": [str(exc)]})
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


@never_cache
@require_GET
@staff_required(VIEW)
def status(request: HttpRequest, slug: str | None = None) -> JsonResponse:
    instance = _instance_or_error(request, slug)
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
    instance = _instance_or_error(request, slug)
    if isinstance(instance, JsonResponse):
        return instance
    return JsonResponse({"success": True, **code_json(instance)})


@never_cache
@require_GET
@staff_required(VIEW)
def operation(request: HttpRequest, operation_id: int, slug: str | None = None) -> JsonResponse:
    found = access.restrict(
        SessionOperation.objects.select_related("instance", "requested_by"), request.user
    ).filter(pk=operation_id)
    if slug:
        found = found.filter(instance__slug=slug)
    op = found.first()
    if op is None:
        return error(_("There is no such operation."), "operation_not_found", 404)
    return JsonResponse({"success": True, "operation": operation_json(op)})
