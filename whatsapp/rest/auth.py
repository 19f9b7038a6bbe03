"""Bearer API-key authentication. Only a hash of each key is stored (models/apikey.py)."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from whatsapp.models import ApiKey
from whatsapp.models.apikey import hash_key

# last_used_at is for people ("is this key still in use?"): once a minute is precise enough,
# and saves a write on every request.
TOUCH_EVERY = timedelta(seconds=60)


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


class ApiKeyAuth(HttpBearer):
    """`request.auth` is the ApiKey; a missing or wrong key is a 401 (never echoed back)."""

    def __call__(self, request: HttpRequest) -> ApiKey | None:
        return authenticate(request)

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        return authenticate(request)


def caller(request: HttpRequest) -> str:
    """Who enqueued, for the message row: `api:<key name>`."""
    api_key = getattr(request, "auth", None)
    return f"api:{api_key.name}" if isinstance(api_key, ApiKey) else "api"
