from __future__ import annotations

from django.urls import include, path

from whatsapp.views import sessions, webhooks

session_patterns = [
    path("start/", sessions.start),
    path("logout/", sessions.logout),
    path("close/", sessions.close),
    path("refresh/", sessions.refresh),
    path("status/", sessions.status),
    path("qrcode/", sessions.qrcode),
    path("operations/<int:operation_id>/", sessions.operation),
]

urlpatterns = [
    # The previous system's paths act on the default instance; the same exist per instance.
    path("system/whatsapp/", include(session_patterns)),
    path("system/whatsapp/instances/<slug:slug>/", include(session_patterns)),
    path(
        "system/whatsapp/instances/<slug:slug>/operations/<int:operation_id>/",
        sessions.operation,
        name="whatsapp-operation",
    ),
    path("whatsapp/webhooks/<slug:slug>/<str:secret>/", webhooks.receive, name="whatsapp-webhook"),
]
