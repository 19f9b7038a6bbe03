"""What every dashboard page needs: permission checks that answer HTML, and the instance."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from whatsapp import access
from whatsapp.conf import conf
from whatsapp.models import Instance
from whatsapp.services.instances import InstanceNotFound, get_instance
from whatsapp.views.jsonapi import OPERATE, VIEW, View, staff_required

__all__ = [
    "OPERATE",
    "VIEW",
    "can_operate",
    "has_instances",
    "instance_or_404",
    "page",
    "page_context",
    "page_requiring",
]

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


def page_requiring(permission: str) -> Callable[[View], View]:
    """A page for staff holding `permission`: the login page for anonymous visitors, an HTML
    403 else. Each page declares it in one line: `@page` (view), `@page_requiring(OPERATE)`.
    Which instances it shows is `access.instances_for(request.user)`'s."""

    def decorator(view: View) -> View:
        guarded = staff_required(permission)(view)

        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if user.is_authenticated and not (user.is_staff and user.has_perm(permission)):
                return render(request, "whatsapp/forbidden.html", status=403)
            with timezone.override(reader_zone(request)):
                return guarded(request, *args, **kwargs)

        return wrapped

    return decorator


page = page_requiring(VIEW)


def can_operate(request: HttpRequest) -> bool:
    return bool(request.user.is_staff and request.user.has_perm(OPERATE))


def instance_or_404(request: HttpRequest, slug: str | None) -> Instance:
    """The instance of the URL (the default one without a slug), if this user may use it.

    A user limited to other instances gets a 404, as for an instance that does not exist; on
    the default URL they get the first of their own.
    """
    try:
        instance = get_instance(slug)
    except InstanceNotFound as exc:
        if slug is not None:
            raise Http404(str(exc)) from None
        instance = None
    if instance is not None and access.may_use(request.user, instance):
        return instance
    if slug is None:
        own = access.instances_for(request.user).order_by("-is_default", "name").first()
        if own is not None:
            return own
    raise Http404(_("There is no such WhatsApp instance."))


def has_instances(request: HttpRequest) -> bool:
    return access.instances_for(request.user).exists()


def page_context(request: HttpRequest, section: str, instance: Instance | None) -> dict[str, Any]:
    instances = list(access.instances_for(request.user))
    return {
        "section": section,
        "instance": instance,
        "instances": instances,
        "can_operate": can_operate(request),
        "health_interval": conf.HEALTH_INTERVAL,
    }
