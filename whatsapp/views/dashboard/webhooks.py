"""The Webhooks page: add an endpoint (its secret shown once), disable or enable it, rotate its
secret, send a test event, see its recent deliveries and replay one. Through the service the
admin, the command and the REST API share (services/webhook_endpoints.py).

Viewing needs `whatsapp.view_webhookendpoint`; changing, `whatsapp.change_webhookendpoint`. A
user limited to some instances sees and manages only the endpoints of those instances.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages as flash
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from whatsapp import access, audit
from whatsapp.models import WebhookDelivery, WebhookEndpoint
from whatsapp.models.webhook import EventType
from whatsapp.services import webhook_endpoints as endpoints

from .common import page_context, page_requiring

VIEW_WEBHOOKS = "whatsapp.view_webhookendpoint"
MANAGE_WEBHOOKS = "whatsapp.change_webhookendpoint"


class EndpointForm(forms.Form):
    url = forms.CharField(
        label=gettext_lazy("URL"),
        max_length=endpoints.MAX_URL_LENGTH,
        widget=forms.URLInput(attrs={"placeholder": "https://app.example.com/whatsapp/events"}),
    )
    description = forms.CharField(
        label=gettext_lazy("Description"),
        max_length=endpoints.MAX_DESCRIPTION_LENGTH,
        required=False,
    )
    events = forms.MultipleChoiceField(
        label=gettext_lazy("Events"),
        choices=EventType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None checked: every event."),
    )
    instance = forms.ChoiceField(label=gettext_lazy("Number"), required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(row.slug, row.name) for row in access.instances_for(user).order_by("name")]
        if access.limited(user):
            # An endpoint for every number would hear about numbers this user may not see.
            self.fields["instance"].required = True
        else:
            choices.insert(0, ("", str(_("Every number"))))
        field = self.fields["instance"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices


def _usable(request: HttpRequest) -> endpoints.Usable | None:
    if not access.limited(request.user):
        return None
    return lambda instance: access.may_use(request.user, instance)


def _visible(request: HttpRequest) -> list[WebhookEndpoint]:
    usable = _usable(request)
    rows = WebhookEndpoint.objects.select_related("instance").order_by("created_at")
    return [row for row in rows if endpoints.visible(row, usable)]


def _endpoint(request: HttpRequest, endpoint_id: UUID) -> WebhookEndpoint:
    try:
        return endpoints.get(endpoint_id, _usable(request))
    except endpoints.EndpointNotFound:
        raise Http404(_("There is no such webhook endpoint.")) from None


def _can_manage(request: HttpRequest) -> bool:
    return bool(request.user.is_staff and request.user.has_perm(MANAGE_WEBHOOKS))


def _render_list(
    request: HttpRequest, form: EndpointForm, new_secret: str = "", status: int = 200
) -> HttpResponse:
    context = {
        **page_context(request, "webhooks", None),
        "endpoints": _visible(request),
        "form": form,
        "new_secret": new_secret,
        "can_manage": _can_manage(request),
    }
    return render(request, "whatsapp/webhooks.html", context, status=status)


@page_requiring(VIEW_WEBHOOKS)
def webhooks_page(request: HttpRequest) -> HttpResponse:
    return _render_list(request, EndpointForm(user=request.user))


@require_POST
@page_requiring(MANAGE_WEBHOOKS)
def add_view(request: HttpRequest) -> HttpResponse:
    form = EndpointForm(request.POST, user=request.user)
    if not form.is_valid():
        return _render_list(request, form, status=400)
    data = form.cleaned_data
    try:
        row, secret = endpoints.create(
            audit.actor_of(request),
            url=data["url"],
            events=data["events"],
            instance=data["instance"] or None,
            description=data["description"],
            usable=_usable(request),
        )
    except endpoints.EndpointError as exc:
        for field, reasons in exc.errors.items():
            for reason in reasons:
                form.add_error(field if field in form.fields else None, reason)
        return _render_list(request, form, status=400)
    flash.success(request, _("Webhook endpoint added: %(url)s") % {"url": row.url})
    # The secret is in this answer only: no redirect, nothing kept to show it again.
    return _render_list(request, EndpointForm(user=request.user), new_secret=secret)


@page_requiring(VIEW_WEBHOOKS)
def endpoint_page(request: HttpRequest, endpoint_id: UUID, new_secret: str = "") -> HttpResponse:
    row = _endpoint(request, endpoint_id)
    context = {
        **page_context(request, "webhooks", None),
        "endpoint": row,
        "deliveries": endpoints.recent_deliveries(row),
        "new_secret": new_secret,
        "can_manage": _can_manage(request),
    }
    return render(request, "whatsapp/webhook.html", context)


@require_POST
@page_requiring(MANAGE_WEBHOOKS)
def action_view(request: HttpRequest, endpoint_id: UUID, action: str) -> HttpResponse:
    row = _endpoint(request, endpoint_id)
    actor = audit.actor_of(request)
    if action in ("enable", "disable"):
        endpoints.set_enabled(actor, row, action == "enable")
        done = _("Endpoint enabled.") if action == "enable" else _("Endpoint disabled.")
        flash.success(request, done)
    elif action == "rotate":
        secret = endpoints.rotate_secret(actor, row)
        flash.success(request, _("New signing secret made; the old one no longer signs."))
        return endpoint_page(request, endpoint_id, new_secret=secret)
    elif action == "test":
        try:
            endpoints.send_test(row)
        except endpoints.EndpointDisabled:
            flash.error(request, _("This endpoint is disabled: enable it first."))
        else:
            flash.success(request, _("Test event queued."))
    elif action == "delete":
        endpoints.remove(actor, row)
        flash.success(request, _("Webhook endpoint removed."))
        return redirect("dashboard-webhooks")
    else:
        raise Http404(action)
    return redirect("dashboard-webhook", endpoint_id=row.pk)


@require_POST
@page_requiring(MANAGE_WEBHOOKS)
def replay_view(request: HttpRequest, endpoint_id: UUID, delivery_id: int) -> HttpResponse:
    row = _endpoint(request, endpoint_id)
    delivery = get_object_or_404(WebhookDelivery, pk=delivery_id, endpoint=row)
    endpoints.replay(audit.actor_of(request), delivery)
    flash.success(request, _("The event will be sent again."))
    return redirect("dashboard-webhook", endpoint_id=row.pk)
