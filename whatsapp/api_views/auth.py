"""Bearer API-key authentication. Only a hash of each key is stored (models/apikey.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from whatsapp.models import ApiKey
from whatsapp.models.apikey import hash_key

View = Callable[..., HttpResponse]
# last_used_at is for people ("is this key still in use?"): once a minute is precise enough,
# and saves a write on every request.
TOUCH_EVERY = timedelta(seconds=60)


def error(
    message: str, code: str, status: int, errors: dict[str, list[str]] | None = None
) -> JsonResponse:
    body: dict[str, Any] = {"success": False, "message": message, "code": code}
    body["errors"] = errors or {}
    return JsonResponse(body, status=status)


def authenticate(request: HttpRequest) -> ApiKey | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None
    api_key = ApiKey.objects.filter(key_hash=hash_key(key.strip()), revoked_at__isnull=True).first()
    if api_key is None:
        return None
    now = timezone.now()
    ApiKey.objects.filter(pk=api_key.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - TOUCH_EVERY)
    ).update(last_used_at=now)
    return api_key


def api_key_required(view: View) -> View:
    """Passes the ApiKey as `api_key`; 401 JSON otherwise (the key is never echoed)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        api_key = authenticate(request)
        if api_key is None:
            response = error(
                _("Send a valid API key: “Authorization: Bearer <key>”."), "not_authenticated", 401
            )
            response["WWW-Authenticate"] = 'Bearer realm="leguas-whatsapp"'
            return response
        return view(request, *args, api_key=api_key, **kwargs)

    return wrapped
