"""Liveness for load balancers and compose health checks: is the database and the cache there?"""

from __future__ import annotations

import logging
import time

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


def _probe(name: str, func: object) -> dict[str, object]:
    started = time.monotonic()
    try:
        func()  # type: ignore[operator]
    except Exception as exc:  # any failure means "not healthy"; the type is what ops need
        logger.warning("health probe %s failed: %s", name, type(exc).__name__)
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _cache() -> None:
    cache.set("healthz", "1", 10)


def _gateways() -> dict[str, object]:
    """Instances whose gateway could not be asked: named, but liveness stays this process's own."""
    from whatsapp.models import Instance

    down = Instance.objects.filter(enabled=True).exclude(gateway_error="")
    return {
        "unreachable": [
            {
                "instance": slug,
                "reason": reason,
                "since": since.isoformat() if since else None,
            }
            for slug, reason, since in down.values_list(
                "slug", "gateway_error", "unreachable_since"
            )
        ]
    }


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _probe("database", _database), "cache": _probe("cache", _cache)}
    healthy = all(check["ok"] for check in checks.values())
    body: dict[str, object] = {"ok": healthy, "checks": checks}
    if checks["database"]["ok"]:
        # A gateway outage is reported, not a reason to restart this process: still 200.
        body["gateways"] = _gateways()
    return JsonResponse(body, status=200 if healthy else 503)
