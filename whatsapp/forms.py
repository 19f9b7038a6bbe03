"""Dashboard forms: an instance's service settings."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.utils.translation import gettext_lazy as _

from whatsapp.models import Instance
from whatsapp.models.instance import PACING_BOUNDS
from whatsapp.services.instances import validate_session_name


def check_gateway_url(value: str) -> str:
    # Not Django's URLValidator: Docker service names ("http://wppconnect:21465", with "_" too)
    # have no dot and no TLD, and they are the usual gateway address.
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise forms.ValidationError(
            _("Enter an http:// or https:// address, e.g. http://wppconnect:21465")
        )
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise forms.ValidationError(_("The port must be a number.")) from None
    if parts.query or parts.fragment:
        raise forms.ValidationError(_("Leave out the query and the fragment."))
    if parts.username is not None or parts.password is not None:
        # The client authenticates with a bearer token; user-info in the URL would make the HTTP
        # library send Basic auth instead, and puts a password where logs and pages show URLs.
        raise forms.ValidationError(_("Leave out the user name and password (user@host)."))
    return value.rstrip("/")


CHANGE_INSTANCE = "whatsapp.change_instance"
GATEWAY_FIELDS = ("gateway_url", "session_name")


class InstanceSettingsForm(forms.ModelForm):
    gateway_url = forms.CharField(
        label=_("Gateway URL"),
        max_length=300,
        help_text=_("Where WPPConnect Server answers, e.g. http://wppconnect:21465"),
        widget=forms.URLInput(attrs={"inputmode": "url", "spellcheck": "false"}),
    )
    # Write-only: the stored key never goes back to the browser; empty keeps it.
    secret_key = forms.CharField(
        label=_("Secret key"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("The gateway's SECRET_KEY. Leave empty to keep the stored one."),
    )

    class Meta:
        model = Instance
        fields = [
            "session_name",
            "enabled",
            "auto_reconnect",
            "min_gap_seconds",
            "max_gap_seconds",
            "cap_per_minute",
            "cap_per_hour",
            "cap_per_day",
        ]
        labels = {
            "session_name": _("Session name"),
            "enabled": _("Service on"),
            "auto_reconnect": _("Reconnect automatically"),
            "min_gap_seconds": _("Minimum gap between sends (s)"),
            "max_gap_seconds": _("Maximum gap between sends (s)"),
            "cap_per_minute": _("Sends per minute"),
            "cap_per_hour": _("Sends per hour"),
            "cap_per_day": _("Sends per day"),
        }
        help_texts = {
            "session_name": _("Letters, digits, “-” and “_” only."),
            "cap_per_minute": _("0 switches this cap off."),
        }

    def __init__(self, *args: Any, may_change_gateway: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Where the gateway is (URL, session name) decides where the token minted from the
        # secret goes: only users with the admin-level permission may change it.
        self.may_change_gateway = may_change_gateway
        self.fields["gateway_url"].initial = self.instance.gateway_url
        if not may_change_gateway:
            for name in GATEWAY_FIELDS:
                self.fields[name].widget.attrs["readonly"] = "readonly"
                self.fields[name].help_text = _(
                    "Only a user allowed to change instances can change this."
                )
        if not self.instance.has_secret_key:
            self.fields["secret_key"].help_text = _("No secret key is stored yet: enter it.")
        # The model's bounds (validators and check constraints) also bound the inputs.
        for name, upper in PACING_BOUNDS.items():
            self.fields[name].widget.attrs.update(min="0", max=str(upper))
        for name in ("min_gap_seconds", "max_gap_seconds"):
            self.fields[name].widget.attrs.update(step="0.5")

    def _get_validation_exclusions(self) -> set[str]:
        # The admin lists gateway_url among the model's fields, which would add the model's
        # URLValidator and refuse Docker service names; check_gateway_url is the check.
        exclude: set[str] = super()._get_validation_exclusions()  # type: ignore[misc]
        exclude.add("gateway_url")
        return exclude

    def clean_gateway_url(self) -> str:
        return check_gateway_url(self.cleaned_data["gateway_url"].strip())

    def clean_session_name(self) -> str:
        name: str = self.cleaned_data["session_name"].strip()
        problem = validate_session_name(name)
        if problem:
            raise forms.ValidationError(problem)
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("min_gap_seconds"), data.get("max_gap_seconds")
        if low is not None and high is not None and high < low:
            self.add_error(
                "max_gap_seconds", _("The maximum gap must not be less than the minimum gap.")
            )
        self._check_gateway_change(data)
        return data

    def gateway_changes(self, data: dict[str, Any]) -> list[str]:
        if self.instance._state.adding:
            return []
        return [
            name
            for name in GATEWAY_FIELDS
            if name in data and data[name] != getattr(self.instance, name)
        ]

    def _check_gateway_change(self, data: dict[str, Any]) -> None:
        changed = self.gateway_changes(data)
        if changed and not self.may_change_gateway:
            for name in changed:
                self.add_error(name, _("Only a user allowed to change instances can change this."))
            return
        if changed and not data.get("secret_key"):
            # The stored secret belongs to the old gateway (Instance.save clears it).
            self.add_error(
                "secret_key",
                _("The gateway URL or session name changed: enter the secret key again."),
            )
        elif not self.instance.has_secret_key and not data.get("secret_key"):
            self.add_error("secret_key", _("Enter the gateway's secret key."))

    def save(self, commit: bool = True) -> Instance:
        instance: Instance = super().save(commit=False)
        instance.gateway_url = self.cleaned_data["gateway_url"]
        secret = self.cleaned_data.get("secret_key")
        if secret:
            instance.secret_key = secret
        if commit:
            instance.save()
        return instance
