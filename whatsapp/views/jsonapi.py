"""Shared pieces of the dashboard's JSON endpoints: auth that answers JSON, and error bodies."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from whatsapp import jsonbody

View = Callable[..., HttpResponse]

OPERATE = "whatsapp.operate_instance"
VIEW = "whatsapp.view_instance"


def error(message: str, code: str, status: int, **extra: Any) -> JsonResponse:
    return JsonResponse(
        {"success": False, "message": message, "code": code, **extra}, status=status
    )


def wants_html(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return "text/html" in accept and request.headers.get("X-Requested-With") != "XMLHttpRequest"


def staff_required(permission: str) -> Callable[[View], View]:
    """Staff login and a permission: 302 to the login page for a browser, else 401/403 JSON."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                if wants_html(request):
                    return redirect_to_login(request.get_full_path())
                return error(_("Sign in to use this endpoint."), "not_authenticated", 401)
            if not user.is_staff or not user.has_perm(permission):
                return error(_("Your account is not allowed to do this."), "forbidden", 403)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def read_body(request: HttpRequest) -> dict[str, Any]:
    """A JSON object or a form; raises ValueError with a message for anything else."""
    if request.content_type == "application/json":
        if not request.body:
            return {}
        data = jsonbody.loads(request.body)  # BadBody is a ValueError with the reason
        if not isinstance(data, dict):
            raise ValueError(_("The request body must be a JSON object."))
        return data
    return {key: request.POST.get(key) for key in request.POST}
