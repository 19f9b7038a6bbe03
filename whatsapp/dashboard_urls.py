"""The dashboard's pages, and the JSON endpoints only they use (test message, message status)."""

from __future__ import annotations

from django.urls import path

from whatsapp.views.dashboard import health, inbox, media, messages, pages, review, webhooks

urlpatterns = [
    path("system/whatsapp/", pages.session_page, name="dashboard"),
    path("system/whatsapp/instances/<slug:slug>/", pages.session_page, name="dashboard-session"),
    path("system/whatsapp/messages/", messages.messages_page, name="dashboard-messages"),
    path("system/whatsapp/messages/rows/", messages.message_rows, name="dashboard-messages-rows"),
    path(
        "system/whatsapp/messages/<uuid:message_id>/status/",
        messages.message_status,
        name="dashboard-message-status",
    ),
    path(
        "system/whatsapp/messages/<uuid:message_id>/cancel/",
        messages.cancel_view,
        name="dashboard-message-cancel",
    ),
    path(
        "system/whatsapp/messages/<uuid:message_id>/requeue/",
        messages.requeue_view,
        name="dashboard-message-requeue",
    ),
    path(
        "system/whatsapp/messages/<uuid:message_id>/resolve/",
        review.resolve_view,
        name="dashboard-message-resolve",
    ),
    # The previous system's path acts on the default instance; the same exists per instance.
    path("system/whatsapp/send-test/", messages.send_test, name="dashboard-send-test-default"),
    path(
        "system/whatsapp/instances/<slug:slug>/send-test/",
        messages.send_test,
        name="dashboard-send-test",
    ),
    path("system/whatsapp/inbox/", inbox.inbox_page, name="dashboard-inbox"),
    path("system/whatsapp/inbox/updates/", inbox.inbox_updates, name="dashboard-inbox-updates"),
    path(
        "system/whatsapp/inbox/<slug:slug>/<str:chat>/",
        inbox.inbox_page,
        name="dashboard-inbox-thread",
    ),
    path(
        "system/whatsapp/inbox/<slug:slug>/<str:chat>/reply/",
        inbox.reply_view,
        name="dashboard-inbox-reply",
    ),
    path("system/whatsapp/media/<uuid:media_id>/", media.media_file, name="dashboard-media"),
    path("system/whatsapp/health/", health.health_page, name="dashboard-health"),
    path(
        "system/whatsapp/instances/<slug:slug>/health/",
        health.health_page,
        name="dashboard-health-instance",
    ),
    path("system/whatsapp/webhooks/", webhooks.webhooks_page, name="dashboard-webhooks"),
    path("system/whatsapp/webhooks/add/", webhooks.add_view, name="dashboard-webhook-add"),
    path(
        "system/whatsapp/webhooks/<uuid:endpoint_id>/",
        webhooks.endpoint_page,
        name="dashboard-webhook",
    ),
    path(
        "system/whatsapp/webhooks/<uuid:endpoint_id>/<slug:action>/",
        webhooks.action_view,
        name="dashboard-webhook-action",
    ),
    path(
        "system/whatsapp/webhooks/<uuid:endpoint_id>/deliveries/<int:delivery_id>/replay/",
        webhooks.replay_view,
        name="dashboard-webhook-replay",
    ),
]
