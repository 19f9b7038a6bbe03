"""Health for load balancers and compose: `/healthz` (liveness) and `/readyz` (readiness).

`/healthz` says this process answers, with the database and the cache; `/readyz` answers 200
only when the database and Redis answer and beat's heartbeat is fresh, 503 naming what fails.
Both list the gateways that cannot be reached without failing on them: a gateway outage is not
a reason to restart or unroute the web.
"""

from __future__ import annotations

import logging
import time

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from whatsapp import liveness
from whatsapp.conf import conf

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
    if cache.get("healthz") != "1":
        raise ConnectionError("the cache did not keep a value")


def _beat() -> dict[str, object]:
    """Beat's heartbeat: fresh, stale (with its age) or missing."""
    try:
        last = liveness.beat_heartbeat()
    except Exception as exc:  # the cache is down: reported as such, beat cannot be judged
        return {"ok": False, "error": type(exc).__name__}
    if last is None:
        return {"ok": False, "error": "no heartbeat"}
    age = round(time.time() - last, 1)
    if age > conf.BEAT_STALE_AFTER:
        return {"ok": False, "error": "stale", "age_seconds": age}
    return {"ok": True, "age_seconds": age}


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


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {
        "database": _probe("database", _database),
        "redis": _probe("redis", _cache),
        "beat": _beat(),
    }
    failing = [name for name, check in checks.items() if not check["ok"]]
    body: dict[str, object] = {"ok": not failing, "failing": failing, "checks": checks}
    if checks["database"]["ok"]:
        body["gateways"] = _gateways()
    return JsonResponse(body, status=503 if failing else 200)
