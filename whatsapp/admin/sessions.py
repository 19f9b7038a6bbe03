"""Admin for instances, operations, health samples and gateway events."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from whatsapp import crypto
from whatsapp.models import GatewayEvent, HealthSample, InboundMessage, Instance, SessionOperation
from whatsapp.services.instances import validate_session_name


class InstanceForm(forms.ModelForm):
    # Gateways usually sit on a private network over plain HTTP.
    gateway_url = forms.URLField(label=_("gateway URL"), max_length=300, assume_scheme="http")
    # Write-only: the stored secret is never rendered back, not even in the form's HTML.
    secret_key = forms.CharField(
        label=_("secret key"),
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty to keep the stored one."),
    )

    class Meta:
        model = Instance
        fields = [
            "name",
            "slug",
            "session_name",
            "gateway_url",
            "enabled",
            "is_default",
            "auto_reconnect",
            "min_gap_seconds",
            "max_gap_seconds",
            "cap_per_minute",
            "cap_per_hour",
            "cap_per_day",
        ]

    def clean_session_name(self) -> str:
        name: str = self.cleaned_data["session_name"]
        problem = validate_session_name(name)
        if problem:
            raise forms.ValidationError(problem)
        return name

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        low, high = data.get("min_gap_seconds"), data.get("max_gap_seconds")
        if low is not None and high is not None and low > high:
            self.add_error("max_gap_seconds", _("Must be at least the minimum gap."))
        return data

    def save(self, commit: bool = True) -> Instance:
        instance: Instance = super().save(commit=False)
        if self.cleaned_data.get("secret_key"):
            instance.secret_key = self.cleaned_data["secret_key"]
        if commit:
            instance.save()
        return instance


@admin.register(Instance)
class InstanceAdmin(admin.ModelAdmin):
    form = InstanceForm
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


@admin.register(SessionOperation)
class SessionOperationAdmin(admin.ModelAdmin):
    list_display = ["id", "instance", "kind", "status", "requested_by", "created_at", "finished_at"]
    list_filter = ["kind", "status", "instance"]
    readonly_fields = [f.name for f in SessionOperation._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(HealthSample)
class HealthSampleAdmin(admin.ModelAdmin):
    list_display = ["at", "instance", "status", "connected", "latency_ms", "transition", "error"]
    list_filter = ["instance", "connected", "transition"]
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(GatewayEvent)
class GatewayEventAdmin(admin.ModelAdmin):
    list_display = ["id", "instance", "event", "received_at", "processed_at", "outcome"]
    list_filter = ["event", "instance"]
    readonly_fields = [f.name for f in GatewayEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = ["received_at", "instance", "sender", "type", "body"]
    list_filter = ["instance", "type"]
    search_fields = ["sender", "body"]
