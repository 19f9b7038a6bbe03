from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from whatsapp.models.media import ClaimedWork


class AlertKind(models.TextChoices):
    DISCONNECTED = "disconnected", _("Number disconnected")
    NEEDS_SCAN = "needs_scan", _("Number needs a new scan")
    ENDPOINT_DISABLED = "endpoint_disabled", _("Webhook endpoint disabled")


class Alert(ClaimedWork):
    """An email to the people in WHATSAPP_ALERT_EMAILS, sent by a worker (services/alerts.py)."""

    instance = models.ForeignKey(
        "whatsapp.Instance",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="alerts",
        verbose_name=_("instance"),
    )
    kind = models.CharField(_("kind"), max_length=40)
    values = models.JSONField(_("values"), default=dict, blank=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "updated_at"], name="alert_sweep_idx")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class AlertMark(models.Model):
    """When an alert of one kind was last raised for one instance: at most one per hour, kept
    in a row so a restart forgets nothing. `key` is `<kind>:<instance id or ->:<endpoint id>`."""

    key = models.CharField(max_length=80, unique=True)
    last_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.key
