"""Admin for outbound messages (attempts inline; requeue and cancel) and API keys."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy

from whatsapp.admin.wording import ModelWording
from whatsapp.models import ApiKey, MessageAttempt, OutboundMessage
from whatsapp.services import outbox


class MessageAttemptInline(admin.TabularInline):
    model = MessageAttempt
    extra = 0
    can_delete = False
    fields = (
        "number",
        "started_at",
        "finished_at",
        "outcome",
        "http_status",
        "duration_ms",
        "error",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "instance",
        "recipient",
        "status",
        "priority",
        "attempts",
        "created_at",
        "sent_at",
    ]
    list_filter = ["status", "priority", "instance", "created_at"]
    search_fields = ["=id", "recipient", "gateway_message_id", "idempotency_key"]
    date_hierarchy = "created_at"
    list_select_related = ["instance"]
    inlines = [MessageAttemptInline]
    actions = ["requeue", "cancel"]
    readonly_fields = [
        "id",
        "instance",
        "recipient",
        "body",
        "priority",
        "not_before",
        "expires_at",
        "idempotency_key",
        "status",
        "attempts",
        "next_attempt_at",
        "gateway_message_id",
        "ack",
        "sent_at",
        "delivered_at",
        "read_at",
        "failed_at",
        "last_error",
        "enqueued_by",
        "created_at",
        "updated_at",
    ]
    exclude = ["request_fingerprint"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Messages are queued through the APIs, which validate and ring the dispatcher.
        return False

    def _apply(
        self, request: HttpRequest, queryset: QuerySet[OutboundMessage], action: Any, done: str
    ) -> None:
        ok, refused = 0, []
        for message in queryset:
            try:
                action(message.pk)
                ok += 1
            except (outbox.InvalidTransition, outbox.MessageNotFound) as exc:
                refused.append(f"{message.pk}: {exc}")
        if ok:
            self.message_user(request, done % {"count": ok}, messages.SUCCESS)
        for line in refused[:10]:
            self.message_user(request, line, messages.WARNING)

    @admin.action(description=_("Queue the selected messages again"))
    def requeue(self, request: HttpRequest, queryset: QuerySet[OutboundMessage]) -> None:
        self._apply(
            request, queryset, outbox.requeue_message, str(_("%(count)s message(s) queued again."))
        )

    @admin.action(description=_("Cancel the selected messages"))
    def cancel(self, request: HttpRequest, queryset: QuerySet[OutboundMessage]) -> None:
        self._apply(
            request, queryset, outbox.cancel_message, str(_("%(count)s message(s) cancelled."))
        )


@admin.register(ApiKey)
class ApiKeyAdmin(ModelWording):
    # Keys are created with `manage.py whatsapp_apikey create NAME`, which shows the key once;
    # neither the key nor its hash is ever shown here. The list page says so
    # (templates/admin/whatsapp/apikey/change_list.html), since it has no Add button.
    saved_messages = {
        "changed": pgettext_lazy("api key", "The API key “{obj}” was changed."),
        "deleted": pgettext_lazy("api key", "The API key “{obj}” was deleted."),
    }
    list_display = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    fields = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["name", "prefix", "created_at", "last_used_at"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        from django.utils import timezone

        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(
            request,
            ngettext("%(count)s key revoked.", "%(count)s keys revoked.", count) % {"count": count},
        )
