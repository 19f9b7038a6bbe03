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
from whatsapp.models.message import Resolution
from whatsapp.services import outbox, review


class NeedsReviewFilter(admin.SimpleListFilter):
    title = _("needs review")
    parameter_name = "needs_review"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[OutboundMessage]
    ) -> QuerySet[OutboundMessage]:
        if self.value() == "yes":
            return queryset.filter(needs_review_since__isnull=False)
        if self.value() == "no":
            return queryset.filter(needs_review_since__isnull=True)
        return queryset


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
        "worker",
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
        "kind",
        "status",
        "priority",
        "attempts",
        "created_at",
        "sent_at",
        "needs_review_since",
    ]
    list_filter = ["status", NeedsReviewFilter, "kind", "priority", "instance", "created_at"]
    search_fields = ["=id", "recipient", "gateway_message_id", "idempotency_key"]
    date_hierarchy = "created_at"
    list_select_related = ["instance"]
    inlines = [MessageAttemptInline]
    actions = ["requeue", "cancel", "resolve_sent", "resolve_resend"]
    readonly_fields = [
        "id",
        "instance",
        "recipient",
        "kind",
        "body",
        "media",
        "media_fetch",
        "awaiting_media",
        "filename",
        "content",
        "reply_to",
        "quoted_id",
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
        "needs_review_since",
        "resolution",
        "resolved_by",
        "resolved_at",
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

    def _resolve(
        self, request: HttpRequest, queryset: QuerySet[OutboundMessage], resolution: str
    ) -> None:
        who = request.user.get_username()
        self._apply(
            request,
            queryset,
            lambda pk: review.resolve(pk, resolution, who),
            str(_("%(count)s message(s) resolved.")),
        )

    @admin.action(
        description=_("Review: the selected messages were sent"),
        permissions=["operate"],
    )
    def resolve_sent(self, request: HttpRequest, queryset: QuerySet[OutboundMessage]) -> None:
        self._resolve(request, queryset, Resolution.SENT)

    @admin.action(
        description=_("Review: send the selected messages again"),
        permissions=["operate"],
    )
    def resolve_resend(self, request: HttpRequest, queryset: QuerySet[OutboundMessage]) -> None:
        self._resolve(request, queryset, Resolution.RESEND)

    def has_operate_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("whatsapp.operate_instance"))


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
