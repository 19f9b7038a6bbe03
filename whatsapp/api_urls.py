from __future__ import annotations

from django.urls import path

from whatsapp.api_views import messages, openapi

urlpatterns = [
    path("messages", messages.messages, name="api-messages"),
    path("messages/<uuid:message_id>", messages.detail, name="api-message"),
    path("messages/<uuid:message_id>/cancel", messages.cancel, name="api-message-cancel"),
    path("openapi.json", openapi.openapi_json, name="api-openapi"),
    path("docs", openapi.docs, name="api-docs"),
]
