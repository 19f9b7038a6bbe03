"""Admin for outgoing webhook endpoints and their deliveries, through the service the dashboard,
the command and the REST API share. A secret shows once, when made (add, rotate); never after."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from whatsapp import audit, crypto
from whatsapp.admin.scoping import InstanceScopedAdmin
from whatsapp.admin.wording import ModelWording
from whatsapp.models import WebhookDelivery, WebhookEndpoint
from whatsapp.models.webhook import EventType
from whatsapp.services import webhook_endpoints as endpoints


class EndpointForm(forms.ModelForm):
    # Checked by the service's rules (http or https, no credentials), not Django's URL field.
    url = forms.CharField(
        label=_("URL"),
        max_length=endpoints.MAX_URL_LENGTH,
        widget=forms.URLInput(attrs={"size": 80}),
    )
    events = forms.MultipleChoiceField(
        label=_("events"),
        choices=EventType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None checked: every event, those added later too."),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "instance"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["events"] = list(self.instance.event_types)

    def clean_url(self) -> str:
        try:
            return endpoints.clean_url(self.cleaned_data.get("url"))
        except endpoints.EndpointError as exc:
            raise forms.ValidationError(exc.errors["url"]) from None

    def clean_description(self) -> str:
        try:
            return endpoints.clean_description(self.cleaned_data.get("description"))
        except endpoints.EndpointError as exc:
            raise forms.ValidationError(exc.errors["description"]) from None

    def save(self, commit: bool = True) -> WebhookEndpoint:
        self.instance.event_types = list(self.cleaned_data.get("events") or [])
        return super().save(commit)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(InstanceScopedAdmin, ModelWording):
    form = EndpointForm
    saved_messages = {
        "added": pgettext_lazy("webhook", "The webhook endpoint “{obj}” was added."),
        "changed": pgettext_lazy("webhook", "The webhook endpoint “{obj}” was changed."),
        "deleted": pgettext_lazy("webhook", "The webhook endpoint “{obj}” was deleted."),
    }
    list_display = ["url", "instance", "enabled", "event_list", "last_success_at", "failing_since"]
    list_filter = ["enabled", "instance"]
    search_fields = ["url", "description"]
    list_select_related = ["instance"]
    readonly_fields = [
        "masked_secret",
        "enabled",
        "disabled_at",
        "disabled_reason",
        "last_success_at",
        "failing_since",
        "created_by",
        "created_at",
    ]
    actions = ["disable", "enable", "rotate", "send_test"]

    @admin.display(description=_("signing secret"))
    def masked_secret(self, obj: WebhookEndpoint) -> str:
        return crypto.mask(obj.secret_encrypted) or "—"

    @admin.display(description=_("events"))
    def event_list(self, obj: WebhookEndpoint) -> str:
        return ", ".join(obj.event_types) or str(_("all"))

    def save_model(
        self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool
    ) -> None:
        actor = audit.actor_of(request)
        if change:
            super().save_model(request, obj, form, change)
            if form.changed_data:
                changes = audit.changes(form)
                audit.record(
                    actor,
                    audit.AuditAction.WEBHOOK_CHANGE,
                    instance=obj.instance_id,
                    target=f"webhook {obj.pk}",
                    changes=changes,
                )
            return
        row, secret = endpoints.create(
            actor,
            url=obj.url,
            events=obj.event_types,
            instance=obj.instance,
            description=obj.description,
        )
        obj.pk, obj.secret_encrypted, obj.created_at = row.pk, row.secret_encrypted, row.created_at
        obj._state.adding = False
        self._show_secret(request, secret)

    def _show_secret(self, request: HttpRequest, secret: str) -> None:
        message = _("Signing secret, shown only this once: %(secret)s") % {"secret": secret}
        self.message_user(request, message, messages.WARNING)

    def delete_model(self, request: HttpRequest, obj: WebhookEndpoint) -> None:
        endpoints.remove(audit.actor_of(request), obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for row in queryset:
            endpoints.remove(audit.actor_of(request), row)

    @admin.action(description=_("Disable the selected endpoints"))
    def disable(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for row in queryset.filter(enabled=True):
            endpoints.set_enabled(audit.actor_of(request), row, False)

    @admin.action(description=_("Enable the selected endpoints"))
    def enable(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for row in queryset.filter(enabled=False):
            endpoints.set_enabled(audit.actor_of(request), row, True)

    @admin.action(description=_("Give the selected endpoints a new signing secret"))
    def rotate(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for row in queryset:
            secret = endpoints.rotate_secret(audit.actor_of(request), row)
            self.message_user(request, f"{row.url}", messages.WARNING)
            self._show_secret(request, secret)

    @admin.action(description=_("Send a test event to the selected endpoints"))
    def send_test(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        queued = 0
        for row in queryset.filter(enabled=True):
            endpoints.send_test(row)
            queued += 1
        self.message_user(
            request, _("%(count)s test event(s) queued.") % {"count": queued}, messages.SUCCESS
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(InstanceScopedAdmin):
    instance_field = "endpoint__instance"
    list_display = [
        "created_at",
        "event_type",
        "endpoint",
        "state",
        "attempts",
        "last_status",
        "duration_ms",
        "next_attempt_at",
    ]
    list_filter = ["state", "event_type", "endpoint"]
    search_fields = ["=event_id", "=message_id"]
    list_select_related = ["endpoint"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields if f.name != "token"]
    exclude = ["token"]
    actions = ["replay"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Send the selected deliveries again"))
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        rows = list(queryset.select_related("endpoint"))
        for row in rows:
            endpoints.replay(audit.actor_of(request), row)
        self.message_user(
            request,
            _("%(count)s delivery(ies) queued again.") % {"count": len(rows)},
            messages.SUCCESS,
        )
