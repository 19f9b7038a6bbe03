from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.csrf import csrf_failure as django_csrf_failure

from whatsapp.views.jsonapi import error, wants_html


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """JSON callers get a JSON 403 they can show; browsers get Django's page."""
    if wants_html(request):
        return django_csrf_failure(request, reason)
    return error(
        _("The security token (CSRF) is missing or wrong. Reload the page and try again."),
        "csrf_failed",
        403,
    )
