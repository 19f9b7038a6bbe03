"""The database cannot be reached: say so (503 with Retry-After), never an HTML 500.

A middleware, so every route gets it whoever wrote the view (the REST API, the dashboard's JSON
endpoints, the webhook receiver): views must not swallow the error. JSON callers get the API's
error body; a person's browser gets a page saying that the database cannot be reached.

A failure in a view arrives at `process_exception`; one raised in another middleware (a session
saved on the way out) has already become a 500 by the time it comes back here, so the
`got_request_exception` signal marks the request and the 500 is replaced.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

RETRY_AFTER_SECONDS = 10
# SQLSTATE classes that mean "no usable connection": 08 connection exceptions, 57P01-03 the
# server shutting down or starting, 53300 too many connections.
UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")
MARK = "_whatsapp_database_unavailable"


def is_unavailable(exc: BaseException | None) -> bool:
    """Whether `exc` says the database cannot be reached (not a bad query, not a deadlock)."""
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    # No SQLSTATE: the server never answered (refused, closed, timed out), or SQLite's "locked".
    return sqlstate is None or str(sqlstate).startswith(UNAVAILABLE_SQLSTATES)


def _wants_page(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return "text/html" in accept and request.headers.get("X-Requested-With") != "XMLHttpRequest"


def unavailable_response(request: HttpRequest) -> HttpResponse:
    language = translation.get_language_from_request(request)
    with translation.override(language):
        message = _("The database cannot be reached. Try again in a moment.")
        if _wants_page(request):
            html = render_to_string(
                "whatsapp/database_unavailable.html", {"message": message, "lang": language}
            )
            response: HttpResponse = HttpResponse(html, status=503)
        else:
            response = JsonResponse(
                {
                    "success": False,
                    "message": message,
                    "code": "database_unavailable",
                    "errors": {},
                },
                status=503,
            )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 500 and getattr(request, MARK, False):
            return unavailable_response(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_unavailable(exception):
            return unavailable_response(request)
        return None


def _mark(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    if request is not None and is_unavailable(sys.exc_info()[1]):
        setattr(request, MARK, True)


got_request_exception.connect(_mark, dispatch_uid="whatsapp.database_unavailable")
