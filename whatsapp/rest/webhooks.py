"""Outgoing webhook endpoints: GET/POST /webhooks, GET/DELETE /webhooks/{id},
POST /webhooks/{id}/test. Events and signatures: docs/events.md.

A key limited to some instances sees and manages only endpoints filtered to one of them.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import Router

from whatsapp import access, audit
from whatsapp.models import WebhookEndpoint
from whatsapp.services import webhook_endpoints as endpoints
from whatsapp.services.webhook_endpoints import delivery_json, endpoint_json

from .auth import Scope, key_of, needs
from .errors import ApiError, invalid
from .schemas import Error
from .webhook_schemas import EndpointCreated, EndpointDetail, EndpointList, NewEndpoint, TestQueued

router = Router(tags=["webhooks"])


def _usable(request: HttpRequest) -> endpoints.Usable | None:
    key = key_of(request)
    if key.all_instances:
        return None
    return lambda instance: access.may_use(key, instance)


def _endpoint(request: HttpRequest, id: str) -> WebhookEndpoint:
    try:
        return endpoints.get(id, _usable(request))
    except endpoints.EndpointNotFound:
        raise ApiError(_("There is no such webhook endpoint."), "not_found", 404) from None


@router.get(
    "/webhooks",
    url_name="api-webhooks",
    auth=needs(Scope.WEBHOOKS),
    summary="List webhook endpoints",
    response={200: EndpointList, 401: Error},
)
def list_endpoints(request: HttpRequest) -> JsonResponse:
    """The endpoints this key may manage (never their secrets)."""
    usable = _usable(request)
    rows = WebhookEndpoint.objects.select_related("instance").order_by("created_at")
    results = [endpoint_json(row) for row in rows if endpoints.visible(row, usable)]
    return JsonResponse({"results": results})


@router.post(
    "/webhooks",
    url_name="api-webhooks",
    auth=needs(Scope.WEBHOOKS),
    summary="Add a webhook endpoint",
    response={201: EndpointCreated, 400: Error, 401: Error},
)
def create_endpoint(request: HttpRequest, payload: NewEndpoint) -> JsonResponse:
    """Events (`events`, all by default) of one instance or all are posted to `url`, signed
    with the `secret` this answer gives once (Standard Webhooks). A key limited to some
    instances must name one of them."""
    data = payload.model_dump()
    usable = _usable(request)
    if usable is not None and data.get("instance") in (None, ""):
        raise invalid(
            {"instance": [_("This API key may use only some instances: name one of them.")]}
        )
    try:
        row, secret = endpoints.create(
            audit.actor_of(request),
            url=data["url"],
            events=data.get("events"),
            instance=data.get("instance"),
            description=data.get("description"),
            usable=usable,
        )
    except endpoints.EndpointError as exc:
        raise invalid(exc.errors) from None
    return JsonResponse({**endpoint_json(row), "secret": secret}, status=201)


@router.get(
    "/webhooks/{id}",
    url_name="api-webhook",
    auth=needs(Scope.WEBHOOKS),
    summary="One webhook endpoint, with its recent deliveries",
    response={200: EndpointDetail, 401: Error, 404: Error},
)
def get_endpoint(request: HttpRequest, id: str) -> JsonResponse:
    """The endpoint (never its secret) and its 50 most recent deliveries."""
    row = _endpoint(request, id)
    deliveries = [delivery_json(d) for d in endpoints.recent_deliveries(row)]
    return JsonResponse({**endpoint_json(row), "deliveries": deliveries})


@router.delete(
    "/webhooks/{id}",
    url_name="api-webhook",
    auth=needs(Scope.WEBHOOKS),
    summary="Remove a webhook endpoint",
    response={204: None, 401: Error, 404: Error},
)
def delete_endpoint(request: HttpRequest, id: str) -> HttpResponse:
    """It receives nothing more; its pending deliveries are dropped with it."""
    endpoints.remove(audit.actor_of(request), _endpoint(request, id))
    return HttpResponse(status=204)


@router.post(
    "/webhooks/{id}/test",
    url_name="api-webhook-test",
    auth=needs(Scope.WEBHOOKS),
    summary="Send a test event",
    response={202: TestQueued, 401: Error, 404: Error, 409: Error},
)
def test_endpoint(request: HttpRequest, id: str) -> JsonResponse:
    """A `webhook.test` event is queued for this endpoint; follow it in `GET /webhooks/{id}`.
    `409` while the endpoint is disabled."""
    row = _endpoint(request, id)
    try:
        delivery = endpoints.send_test(row)
    except endpoints.EndpointDisabled:
        raise ApiError(
            _("This webhook endpoint is disabled: enable it first."), "disabled", 409
        ) from None
    return JsonResponse({**endpoint_json(row), "delivery": delivery_json(delivery)}, status=202)
