"""Bearer API keys, their scopes, and a rate limit per key.

Each route declares the one scope it needs, in one line, and the OpenAPI document says it:

    @router.get("/messages", auth=needs(Scope.READ), ...)

A missing or wrong key is a 401 (the key is never echoed back); a key without the scope is a
403 naming it. Only a hash of each key is stored (models/apikey.py).
"""

from __future__ import annotations

import threading
from datetime import timedelta

from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.security import HttpBearer
from ninja.throttling import BaseThrottle

from whatsapp import access, lookups, ratelimit
from whatsapp.conf import conf
from whatsapp.gateway.values import has_unstorable
from whatsapp.models import ApiKey, Instance
from whatsapp.models.apikey import hash_key
from whatsapp.ratelimit import Verdict
from whatsapp.scopes import Scope

from .errors import ApiError

__all__ = ["ApiKeyAuth", "KeyRateThrottle", "Scope", "caller", "key_of", "needs", "usable_instance"]

# last_used_at is for people ("is this key still in use?"): once a minute is precise enough,
# and saves a write on every request.
TOUCH_EVERY = timedelta(seconds=60)


def authenticate(request: HttpRequest) -> ApiKey | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, key = header.partition(" ")
    token = key.strip()
    # A lone surrogate cannot be hashed (UTF-8); no key holds one, so it is simply a wrong key.
    if scheme.lower() != "bearer" or not token or has_unstorable(token):
        return None
    api_key = _active_key(request, hash_key(token))
    if api_key is None:
        return None
    now = timezone.now()
    # The row just read says whether a touch is due: most requests then make no second query.
    if api_key.last_used_at is None or api_key.last_used_at < now - TOUCH_EVERY:
        ApiKey.objects.filter(pk=api_key.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - TOUCH_EVERY)
        ).update(last_used_at=now)
        api_key.last_used_at = now  # the remembered row too (whatsapp/lookups.py)
    return api_key


def _active_key(request: HttpRequest, digest: str) -> ApiKey | None:
    """The key, from this process's memory when the generation the rate limit's round trip read
    says nothing changed since; else from the database (whatsapp/lookups.py says why it is safe)."""
    remembered = lookups.remembered_key(digest)
    if remembered is not None:
        verdict = _count(request, remembered.value, read_generation=True)
        if verdict.read is not None and verdict.read == remembered.generation:
            lookups.set_generation(request, verdict.read)
            return remembered.value
        # Changed since (this request was counted under the key's old limits, once), or Redis
        # lost the generation: a new one is set.
        generation = verdict.read or lookups.current_generation()
        lookups.set_generation(request, generation)
        return lookups.load_key(digest, generation)
    generation = lookups.current_generation()
    lookups.set_generation(request, generation)
    api_key = lookups.load_key(digest, generation)
    if api_key is not None:
        _count(request, api_key)
    return api_key


def _count(request: HttpRequest, api_key: ApiKey, *, read_generation: bool = False) -> Verdict:
    """One request against the key's rate limit; KeyRateThrottle answers by it."""
    rate = api_key.rate_limit if api_key.rate_limit is not None else conf.API_RATE_LIMIT
    burst = api_key.rate_burst if api_key.rate_burst is not None else conf.API_RATE_BURST
    read = lookups.generation_key() if read_generation else None
    verdict = ratelimit.hit(f"key:{api_key.pk}", float(rate), int(burst), read=read)
    request._whatsapp_rate = verdict  # type: ignore[attr-defined]
    return verdict


class ApiKeyAuth(HttpBearer):
    """`request.auth` is the ApiKey, when it holds `scope`."""

    def __init__(self, scope: str) -> None:
        super().__init__()
        self.scope = scope

    def __call__(self, request: HttpRequest) -> ApiKey | None:
        api_key = authenticate(request)
        if api_key is not None and not api_key.has_scope(self.scope):
            raise ApiError(
                _("This API key does not have the “%(scope)s” scope this route needs.")
                % {"scope": self.scope},
                "missing_scope",
                403,
            )
        return api_key

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        return self(request)


def needs(scope: Scope) -> ApiKeyAuth:
    return ApiKeyAuth(str(scope))


def key_of(request: HttpRequest) -> ApiKey:
    """The authenticated key of a scoped route."""
    api_key = getattr(request, "auth", None)
    assert isinstance(api_key, ApiKey), "a scoped route runs only with a key"
    return api_key


def usable_instance(request: HttpRequest, instance: Instance) -> Instance:
    """The instance, when the request's key may use it; else a 403 naming it."""
    if not access.may_use(key_of(request), instance):
        raise ApiError(
            _("This API key may not use the instance “%(slug)s”.") % {"slug": instance.slug},
            "instance_not_allowed",
            403,
        )
    return instance


def caller(request: HttpRequest) -> str:
    """Who enqueued, for the message row: `api:<key name>`."""
    api_key = getattr(request, "auth", None)
    return f"api:{api_key.name}" if isinstance(api_key, ApiKey) else "api"


class KeyRateThrottle(BaseThrottle):
    """Requests per second per key, from the key or WHATSAPP["API_RATE_LIMIT"/"API_RATE_BURST"].

    Runs after authentication; a 429 carries `Retry-After` (django-ninja sets it from `wait`).
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def allow_request(self, request: HttpRequest) -> bool:
        # Counted while authenticating, in the round trip that also checks the key is current.
        verdict = getattr(request, "_whatsapp_rate", None)
        if not isinstance(verdict, ratelimit.Verdict):
            return True
        self._local.wait = verdict.retry_after
        return verdict.allowed

    def wait(self) -> float | None:
        return max(float(getattr(self._local, "wait", 1.0)), 1.0)
