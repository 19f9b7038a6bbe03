"""A host that mounts the dashboard and the session endpoints under different prefixes."""

from __future__ import annotations

from django.urls import include, path

from tests.prefix_urls import host_pages

urlpatterns = [
    *host_pages,
    # Everything under gateway-side/, then the dashboard's pages again under ops/: for a name
    # defined twice, reverse() takes the pattern listed last, so page links point at ops/.
    path("gateway-side/", include("whatsapp.urls")),
    path("ops/", include("whatsapp.dashboard_urls")),
]
