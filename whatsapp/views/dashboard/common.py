"""What every dashboard page needs: permission checks that answer HTML, and the instance."""

from __future__ import annotations

import zoneinfo
from functools import wraps
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from whatsapp.conf import conf
from whatsapp.models import Instance
from whatsapp.services.instances import InstanceNotFound, get_instance
from whatsapp.views.jsonapi import OPERATE, VIEW, View, staff_required

__all__ = ["OPERATE", "VIEW", "can_operate", "instance_or_404", "page", "page_context"]

# Set by times.js: the reader's time zone, so days are counted and first paints drawn in it.
ZONE_COOKIE = "whatsapp_tz"


def reader_zone(request: HttpRequest) -> zoneinfo.ZoneInfo | None:
    name = request.COOKIES.get(ZONE_COOKIE, "")
    if not name or len(name) > 64:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def page(view: View) -> View:
    """A page for staff who may view: the login page for anonymous visitors, an HTML 403 else."""
    guarded = staff_required(VIEW)(view)

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if user.is_authenticated and not (user.is_staff and user.has_perm(VIEW)):
            return render(request, "whatsapp/forbidden.html", status=403)
        with timezone.override(reader_zone(request)):
            return guarded(request, *args, **kwargs)

    return wrapped


def can_operate(request: HttpRequest) -> bool:
    return bool(request.user.is_staff and request.user.has_perm(OPERATE))


def instance_or_404(slug: str | None) -> Instance:
    try:
        return get_instance(slug)
    except InstanceNotFound as exc:
        raise Http404(str(exc)) from None


def page_context(request: HttpRequest, section: str, instance: Instance | None) -> dict[str, Any]:
    instances = list(Instance.objects.all())
    return {
        "section": section,
        "instance": instance,
        "instances": instances,
        "can_operate": can_operate(request),
        "health_interval": conf.HEALTH_INTERVAL,
    }
