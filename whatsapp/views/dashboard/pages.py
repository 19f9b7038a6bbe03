"""The session page: one instance's connection, session details, actions and settings."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from whatsapp import audit
from whatsapp.forms import CHANGE_INSTANCE, InstanceSettingsForm
from whatsapp.models import Instance, SessionOperation
from whatsapp.models.operation import ACTIVE_STATUSES
from whatsapp.services import outage
from whatsapp.views.dashboard.common import (
    can_operate,
    has_instances,
    instance_or_404,
    page,
    page_context,
)
from whatsapp.views.dashboard.review import review_context
from whatsapp.views.dashboard.strings import session_strings
from whatsapp.views.serialize import code_json, operation_json, session_json


def session_urls(instance: Instance) -> dict[str, str]:
    """Every URL the page script calls, reversed here: the app may be mounted under any prefix."""
    slug = [instance.slug]
    return {
        "page": reverse("dashboard-session", args=slug),
        **{
            action: reverse(f"session-{action}", args=slug)
            for action in ("start", "logout", "close", "refresh", "status", "qrcode")
        },
        "sendTest": reverse("dashboard-send-test", args=slug),
    }


def initial_state(request: HttpRequest, instance: Instance) -> dict[str, Any]:
    """Everything the page script needs to draw the first frame without a request."""
    active = SessionOperation.objects.filter(
        instance=instance, status__in=ACTIVE_STATUSES
    ).select_related("instance")
    return {
        "session": session_json(instance),
        "code": code_json(instance),
        "operations": [operation_json(op) for op in active],
        "configured": instance.has_secret_key,
        "canOperate": can_operate(request),
        "urls": session_urls(instance),
        "strings": session_strings(),
    }


@page
@require_http_methods(["GET", "POST"])
def session_page(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    if slug is None and not has_instances(request):
        return render(request, "whatsapp/no_instance.html", page_context(request, "session", None))
    instance = instance_or_404(request, slug)
    may_change_gateway = request.user.has_perm(CHANGE_INSTANCE)
    form = InstanceSettingsForm(instance=instance, may_change_gateway=may_change_gateway)
    settings_open = not instance.has_secret_key
    if request.method == "POST":
        if not can_operate(request):
            return render(request, "whatsapp/forbidden.html", status=403)
        form = InstanceSettingsForm(
            request.POST, instance=instance, may_change_gateway=may_change_gateway
        )
        if form.is_valid():
            with transaction.atomic():
                form.save()
                if form.changed_data:
                    audit.record(
                        audit.actor_of(request),
                        audit.AuditAction.INSTANCE_CHANGE,
                        instance=instance,
                        changes=audit.changes(form),
                    )
            messages.success(request, _("The service settings were saved."))
            # Post/redirect/get: a reload must not post the form again.
            return redirect("dashboard-session", slug=instance.slug)
        settings_open = True
    context = {
        **page_context(request, "session", instance),
        "form": form,
        "settings_open": settings_open,
        "outage": outage.describe(instance),
        "initial": initial_state(request, instance),
        **review_context(request, instance),
    }
    status = 400 if form.errors else 200
    return render(request, "whatsapp/session.html", context, status=status)
