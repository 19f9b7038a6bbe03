from __future__ import annotations

from django.urls import URLPattern, include, path

from whatsapp.views import sessions, webhooks


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
    # The previous system's paths act on the default instance; the same exist per instance.
    path("system/whatsapp/", include(session_patterns("-default"))),
    path("system/whatsapp/instances/<slug:slug>/", include(session_patterns(""))),
    path(
        "system/whatsapp/instances/<slug:slug>/operations/<int:operation_id>/",
        sessions.operation,
        name="whatsapp-operation",
    ),
    path("whatsapp/webhooks/<slug:slug>/<str:secret>/", webhooks.receive, name="whatsapp-webhook"),
]
