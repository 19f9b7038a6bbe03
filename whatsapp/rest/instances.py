"""Instances (WhatsApp numbers) and their sessions: state, QR, and operations run by workers.

The same rules as the dashboard (services/session_requests.py): one active operation per kind,
and no request waits on the gateway: a start answers 202 with the operation to poll.
"""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Body, Router

from whatsapp import access, audit
from whatsapp.models import Instance, SessionOperation
from whatsapp.models.operation import ACTIVE_STATUSES, OperationKind
from whatsapp.phones import InvalidPhone
from whatsapp.services import session_requests
from whatsapp.services.instances import InstanceNotFound, get_instance
from whatsapp.services.session_requests import SessionRequestRefused
from whatsapp.views.serialize import QR_LIFETIME, iso, operation_json, session_json

from .auth import Scope, key_of, needs, usable_instance
from .errors import ApiError
from .schemas import Error
from .session_schemas import Instance as InstanceSchema
from .session_schemas import InstanceList, OperationAccepted, StartSession
from .session_schemas import Operation as OperationSchema

router = Router(tags=["instances"])
SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,50}$")
ACCEPTED = {202: OperationAccepted, 401: Error, 404: Error, 409: Error}


def _instance(request: HttpRequest, slug: str) -> Instance:
    try:
        if not SLUG.match(slug):
            raise InstanceNotFound(slug)
        return usable_instance(request, get_instance(slug))
    except InstanceNotFound:
        message = _("There is no WhatsApp instance called “%(slug)s”.") % {
            "slug": slug[:50].replace("\x00", "")
        }
        raise ApiError(message, "instance_not_found", 404) from None


def api_operation_json(operation: SessionOperation) -> dict[str, Any]:
    return {**operation_json(operation), "url": reverse("api-operation", args=[operation.pk])}


def _manages_sessions(request: HttpRequest) -> bool:
    return key_of(request).has_scope(Scope.SESSIONS)


def instance_json(
    instance: Instance, *, refreshing: bool = False, codes: bool = True
) -> dict[str, Any]:
    """The instance's state; `codes` False leaves out what links a phone (QR, pairing code)."""
    active = SessionOperation.objects.filter(instance=instance, status__in=ACTIVE_STATUSES)
    produced = instance.code_produced_at
    has_png = codes and session_requests.qr_png(instance) is not None
    body = {
        **session_json(instance),
        "is_default": instance.is_default,
        "qr_png_url": reverse("api-instance-qr", args=[instance.slug]) if has_png else None,
        "code_produced_at": iso(produced),
        "code_expires_at": iso(produced + QR_LIFETIME) if produced and has_png else None,
        "refreshing": refreshing,
        "operations": [api_operation_json(op) for op in active.select_related("instance")],
    }
    if not codes:
        # Scanning the QR or typing the pairing code links a phone to this number: only for
        # keys that manage sessions.
        body.update(has_qrcode=False, pairing_code=None, operations=[])
    return body


@router.get(
    "/instances",
    url_name="api-instances",
    auth=needs(Scope.READ),
    response={200: InstanceList, 401: Error},
)
def list_instances(request: HttpRequest) -> JsonResponse:
    """The WhatsApp numbers this key may use, with their last known state, the default first.

    QR and pairing codes and operations only for keys with the `sessions` scope."""
    rows = access.instances_for(key_of(request)).order_by("-is_default", "slug")
    codes = _manages_sessions(request)
    return JsonResponse({"results": [instance_json(row, codes=codes) for row in rows]})


@router.get(
    "/instances/{slug}",
    url_name="api-instance",
    auth=needs(Scope.READ),
    response={200: InstanceSchema, 401: Error, 404: Error},
)
def get_instance_state(request: HttpRequest, slug: str) -> JsonResponse:
    """State, phone, device, last error, and the QR or pairing code while one waits.

    The state is what webhooks and the health recorder stored; when it is a few seconds old a
    refresh is asked for in the background (`refreshing`), never waited for.
    """
    instance = _instance(request, slug)
    refreshing = session_requests.ask_for_refresh(instance)
    codes = _manages_sessions(request)
    return JsonResponse(instance_json(instance, refreshing=refreshing, codes=codes))


@router.get(
    "/instances/{slug}/qr.png",
    url_name="api-instance-qr",
    auth=needs(Scope.SESSIONS),
    response={200: None, 401: Error, 404: Error},
    openapi_extra={
        "responses": {
            200: {
                "description": "The QR code to scan with WhatsApp.",
                "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def get_qr_png(request: HttpRequest, slug: str) -> HttpResponse:
    """The current QR code as a PNG image; `404` when the session is not waiting for a scan."""
    png = session_requests.qr_png(_instance(request, slug))
    if png is None:
        raise ApiError(_("This session is not waiting for a QR scan."), "no_qrcode", 404)
    return HttpResponse(png, content_type="image/png")


def _operate(request: HttpRequest, slug: str, kind: str, phone: object = None) -> JsonResponse:
    instance = _instance(request, slug)
    try:
        operation, created = session_requests.request(
            instance, kind, phone=phone, actor=audit.actor_of(request)
        )
    except SessionRequestRefused as refused:
        raise ApiError(str(refused), refused.code, 409) from None
    except InvalidPhone as exc:
        raise ApiError(str(exc), "invalid", 400, {"phone": [str(exc)]}) from None
    return JsonResponse(
        {"created": created, "operation": api_operation_json(operation)}, status=202
    )


@router.post(
    "/instances/{slug}/start",
    url_name="api-instance-start",
    auth=needs(Scope.SESSIONS),
    response={**ACCEPTED, 400: Error},
)
def start_session(
    request: HttpRequest, slug: str, payload: StartSession | None = Body(None)
) -> JsonResponse:
    """Start the session: the operation ends with a QR code to scan, or with the pairing code
    for `phone`. A start already under way is returned as it is (`created: false`)."""
    return _operate(request, slug, OperationKind.START, payload.phone if payload else None)


@router.post(
    "/instances/{slug}/logout",
    url_name="api-instance-logout",
    auth=needs(Scope.SESSIONS),
    response=ACCEPTED,
)
def logout_session(request: HttpRequest, slug: str) -> JsonResponse:
    """Log the number out: the next start needs a new scan. Only for a connected session."""
    return _operate(request, slug, OperationKind.LOGOUT)


@router.post(
    "/instances/{slug}/close",
    url_name="api-instance-close",
    auth=needs(Scope.SESSIONS),
    response=ACCEPTED,
)
def close_session(request: HttpRequest, slug: str) -> JsonResponse:
    """Close the session, keeping the login: the next start needs no scan."""
    return _operate(request, slug, OperationKind.CLOSE)


@router.post(
    "/instances/{slug}/refresh",
    url_name="api-instance-refresh",
    auth=needs(Scope.SESSIONS),
    response=ACCEPTED,
)
def refresh_session(request: HttpRequest, slug: str) -> JsonResponse:
    """Read the session's state from the gateway."""
    return _operate(request, slug, OperationKind.REFRESH)


@router.get(
    "/operations/{operation_id}",
    url_name="api-operation",
    auth=needs(Scope.SESSIONS),
    response={200: OperationSchema, 400: Error, 401: Error, 404: Error},
)
def get_operation(request: HttpRequest, operation_id: int) -> JsonResponse:
    """A session operation: poll it until `status` is `succeeded` or `failed`."""
    found = access.restrict(
        SessionOperation.objects.select_related("instance", "requested_by"), key_of(request)
    )
    operation = found.filter(pk=operation_id).first() if 0 < operation_id < 2**63 else None
    if operation is None:
        raise ApiError(_("There is no such operation."), "operation_not_found", 404)
    return JsonResponse(api_operation_json(operation))
