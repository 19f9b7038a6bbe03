"""Admin for instances, operations, health samples, gateway events and alert emails."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from whatsapp import audit, crypto
from whatsapp.admin.scoping import InstanceScopedAdmin
from whatsapp.admin.wording import ModelWording
from whatsapp.forms import InstanceSettingsForm
from whatsapp.models import (
    Alert,
    GatewayEvent,
    HealthSample,
    InboundMessage,
    Instance,
    SessionOperation,
)


class InstanceForm(InstanceSettingsForm):
    """The dashboard's settings form (write-only secret, URL and pacing checks) plus identity."""

    class Meta(InstanceSettingsForm.Meta):
        fields = ["name", "slug", *InstanceSettingsForm.Meta.fields, "is_default", "operators"]


@admin.register(Instance)
class InstanceAdmin(InstanceScopedAdmin, ModelWording):
    form = InstanceForm
    instance_field = "pk"
    filter_horizontal = ["operators"]
    saved_messages = {
        "added": pgettext_lazy("instance", "The instance “{obj}” was added."),
        "changed": pgettext_lazy("instance", "The instance “{obj}” was changed."),
        "deleted": pgettext_lazy("instance", "The instance “{obj}” was deleted."),
    }
    list_display = ["name", "slug", "session_name", "status", "connected", "enabled", "is_default"]
    list_filter = ["enabled", "connected", "status"]
    search_fields = ["name", "slug", "session_name"]
    readonly_fields = [
        "masked_secret",
        "status",
        "connected",
        "phone",
        "device",
        "last_error",
        "checked_at",
        "connected_since",
        "needs_scan",
    ]

    @admin.display(description=_("stored secret key"))
    def masked_secret(self, obj: Instance) -> str:
        return crypto.mask(obj.secret_key_encrypted) or "—"

    def save_model(self, request: HttpRequest, obj: Instance, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and not form.changed_data:
            return
        action = audit.AuditAction.INSTANCE_CHANGE if change else audit.AuditAction.INSTANCE_CREATE
        audit.record(audit.actor_of(request), action, instance=obj, changes=audit.changes(form))

    def delete_model(self, request: HttpRequest, obj: Instance) -> None:
        audit.record(audit.actor_of(request), audit.AuditAction.INSTANCE_DELETE, target=str(obj))
        super().delete_model(request, obj)


@admin.register(SessionOperation)
class SessionOperationAdmin(InstanceScopedAdmin):
    list_display = ["id", "instance", "kind", "status", "requested_by", "created_at", "finished_at"]
    list_filter = ["kind", "status", "instance"]
    readonly_fields = [f.name for f in SessionOperation._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(HealthSample)
class HealthSampleAdmin(InstanceScopedAdmin):
    list_display = ["at", "instance", "status", "connected", "latency_ms", "transition", "error"]
    list_filter = ["instance", "connected", "transition"]
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(GatewayEvent)
class GatewayEventAdmin(InstanceScopedAdmin):
    list_display = [
        "id",
        "instance",
        "event",
        "state",
        "attempts",
        "received_at",
        "processed_at",
        "outcome",
        "error",
    ]
    list_filter = ["state", "event", "instance"]
    readonly_fields = [f.name for f in GatewayEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(InboundMessage)
class InboundMessageAdmin(InstanceScopedAdmin):
    list_display = ["received_at", "instance", "chat", "sender", "sender_lid", "type", "body"]
    list_filter = ["instance", "type"]
    search_fields = ["sender", "sender_lid", "chat", "push_name", "body"]

    # Inbound messages come from the gateway's webhooks only; a typed one would be a forgery.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(InstanceScopedAdmin):
    """Alert emails, as sent or still to send; written only by services/alerts.py."""

    list_display = ["created_at", "instance", "kind", "state", "attempts", "error"]
    list_filter = ["kind", "state"]
    readonly_fields = ["instance", "kind", "values", "state", "attempts", "error", "finished_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
