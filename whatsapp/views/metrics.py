"""`/metrics` for Prometheus, behind a bearer token (`WHATSAPP["METRICS_TOKEN"]`).

Without a token configured the endpoint answers 404: metrics name numbers and queues, they are
not for everyone. Prometheus sends the token with `authorization: {credentials: <token>}`.
"""

from __future__ import annotations

import os
import secrets

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from whatsapp.conf import conf
from whatsapp.metrics.collector import DatabaseCollector


def registry() -> CollectorRegistry:
    """The processes' counters (every web and worker process, when they share a folder) and
    the database's gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        collected = CollectorRegistry()
        MultiProcessCollector(collected)
    else:
        collected = CollectorRegistry()
        for collector in list(REGISTRY._collector_to_names):
            collected.register(collector)
    collected.register(DatabaseCollector())
    return collected


def _authorized(request: HttpRequest, token: str) -> bool:
    scheme, _sep, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(
        given.strip().encode(), token.encode()
    )


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    token = conf.METRICS_TOKEN
    if not token:
        return HttpResponse(status=404)
    if not _authorized(request, token):
        response = HttpResponse(
            "Send the metrics token: Authorization: Bearer <token>\n", status=401
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
