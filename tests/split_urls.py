"""A host that mounts the dashboard and the session endpoints under different prefixes."""

from __future__ import annotations

from django.urls import include, path

from tests.prefix_urls import host_pages

urlpatterns = [
    *host_pages,
    path("ops/", include("whatsapp.dashboard_urls")),
    path("gateway-side/", include("whatsapp.urls")),
]
