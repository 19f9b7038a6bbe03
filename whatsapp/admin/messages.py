"""Admin for outbound messages (attempts inline; requeue and cancel), API keys, the audit log."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy

from whatsapp import audit, lookups
from whatsapp.admin.scoping import InstanceScopedAdmin
from whatsapp.admin.wording import ModelWording
from whatsapp.models import ApiKey, AuditEntry, MessageAttempt, OutboundMessage
from whatsapp.models.audit import AuditAction
from whatsapp.models.message import Resolution
from whatsapp.scopes import Scope
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
class OutboundMessageAdmin(InstanceScopedAdmin):
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
        "api_key",
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
        actor = audit.actor_of(request)
        self._apply(
            request,
            queryset,
            lambda pk: outbox.requeue_message(pk, actor=actor),
            str(_("%(count)s message(s) queued again.")),
        )

    @admin.action(description=_("Cancel the selected messages"))
    def cancel(self, request: HttpRequest, queryset: QuerySet[OutboundMessage]) -> None:
        actor = audit.actor_of(request)
        self._apply(
            request,
            queryset,
            lambda pk: outbox.cancel_message(pk, actor=actor),
            str(_("%(count)s message(s) cancelled.")),
        )

    def _resolve(
        self, request: HttpRequest, queryset: QuerySet[OutboundMessage], resolution: str
    ) -> None:
        who = request.user.get_username()
        actor = audit.actor_of(request)
        self._apply(
            request,
            queryset,
            lambda pk: review.resolve(pk, resolution, who, actor=actor),
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


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("scopes"),
        choices=Scope.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = ApiKey
        fields = ["scopes", "all_instances", "instances", "rate_limit", "rate_burst"]


@admin.register(ApiKey)
class ApiKeyAdmin(ModelWording):
    # Keys are created with `manage.py whatsapp_apikey create NAME`, which shows the key once;
    # neither the key nor its hash is ever shown here. The list page says so
    # (templates/admin/whatsapp/apikey/change_list.html), since it has no Add button.
    form = ApiKeyForm
    saved_messages = {
        "changed": pgettext_lazy("api key", "The API key “{obj}” was changed."),
        "deleted": pgettext_lazy("api key", "The API key “{obj}” was deleted."),
    }
    list_display = ["name", "prefix", "scope_list", "all_instances", "last_used_at", "revoked_at"]
    list_filter = ["all_instances", "revoked_at"]
    fields = [
        "name",
        "prefix",
        "scopes",
        "all_instances",
        "instances",
        "rate_limit",
        "rate_burst",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    # Revocation is one-way: "revoked at" is never a form field, only the action sets it.
    readonly_fields = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    filter_horizontal = ["instances"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Revoke instead: messages and audit entries name the key.
        return False

    @admin.display(description=_("scopes"))
    def scope_list(self, obj: ApiKey) -> str:
        return ", ".join(obj.scopes or []) or "—"

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not form.changed_data:
            return
        audit.record(
            audit.actor_of(request),
            AuditAction.KEY_CHANGE,
            target=str(obj),
            changes=audit.changes(form),
        )

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        actor = audit.actor_of(request)
        count = 0
        with transaction.atomic():
            for key in queryset.select_for_update().filter(revoked_at__isnull=True):
                ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
                lookups.changed()  # no web process uses the key once this commits
                audit.record(actor, AuditAction.KEY_REVOKE, target=str(key))
                count += 1
        self.message_user(
            request,
            ngettext("%(count)s key revoked.", "%(count)s keys revoked.", count) % {"count": count},
        )


class ActorKindFilter(admin.SimpleListFilter):
    title = _("who")
    parameter_name = "by"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("user", _("Users")), ("key", _("API keys")), ("other", _("Commands and code"))]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[AuditEntry]
    ) -> QuerySet[AuditEntry]:
        if self.value() == "user":
            return queryset.filter(user__isnull=False)
        if self.value() == "key":
            return queryset.filter(api_key__isnull=False)
        if self.value() == "other":
            return queryset.filter(user__isnull=True, api_key__isnull=True)
        return queryset


@admin.register(AuditEntry)
class AuditEntryAdmin(InstanceScopedAdmin):
    list_display = ["at", "actor", "action", "instance", "message_id", "target", "address"]
    list_filter = ["action", ActorKindFilter, "instance", "at"]
    search_fields = ["actor", "target", "=message_id", "address"]
    date_hierarchy = "at"
    list_select_related = ["instance"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in AuditEntry._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Entries leave with the retention period (WHATSAPP["AUDIT_RETENTION_DAYS"]) only.
        return False
