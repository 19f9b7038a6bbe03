"""Everything the app serves, for one `include("whatsapp.urls")` under any prefix.

The dashboard and its session endpoints under `system/whatsapp/` (the previous system's paths),
the REST API under `api/v1/`, the gateway's webhooks under `whatsapp/webhooks/`. Every link and
every URL handed to the pages' scripts is reversed, so the include's prefix is all a host picks.
"""

from __future__ import annotations

from django.contrib.auth.views import LogoutView
from django.urls import URLPattern, include, path
from django.views.i18n import set_language

from whatsapp.views import metrics, sessions, webhooks


def session_patterns(suffix: str) -> list[URLPattern]:
    """The session endpoints, named `session-<action>` per instance, `…-default` for the default."""
    return [
        path("start/", sessions.start, name=f"session-start{suffix}"),
        path("logout/", sessions.logout, name=f"session-logout{suffix}"),
        path("close/", sessions.close, name=f"session-close{suffix}"),
        path("refresh/", sessions.refresh, name=f"session-refresh{suffix}"),
        path("status/", sessions.status, name=f"session-status{suffix}"),
        path("qrcode/", sessions.qrcode, name=f"session-qrcode{suffix}"),
        path(
            "operations/<int:operation_id>/",
            sessions.operation,
            name=f"session-operation{suffix}",
        ),
    ]


urlpatterns = [
    # First: API requests are the most frequent, and Django tries patterns in order.
    path("api/v1/", include("whatsapp.rest.urls")),
    path("", include("whatsapp.dashboard_urls")),
    # The dashboard's own language switch and sign-out, so it needs nothing from the host's URLs.
    path("system/whatsapp/language/", set_language, name="whatsapp-set-language"),
    path("system/whatsapp/sign-out/", LogoutView.as_view(), name="whatsapp-logout"),
    # The previous system's paths act on the default instance; the same exist per instance.
    path("system/whatsapp/", include(session_patterns("-default"))),
    path("system/whatsapp/instances/<slug:slug>/", include(session_patterns(""))),
    path(
        "system/whatsapp/instances/<slug:slug>/operations/<int:operation_id>/",
        sessions.operation,
        name="whatsapp-operation",
    ),
    path("whatsapp/webhooks/<slug:slug>/<str:secret>/", webhooks.receive, name="whatsapp-webhook"),
    path("metrics", metrics.metrics, name="whatsapp-metrics"),
]
