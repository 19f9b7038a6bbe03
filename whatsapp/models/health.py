from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class HealthSample(models.Model):
    """One observation of a session by the beat recorder."""

    instance = models.ForeignKey(
        "whatsapp.Instance",
        on_delete=models.CASCADE,
        related_name="samples",
        verbose_name=_("instance"),
    )
    at = models.DateTimeField(_("at"), db_index=True)
    status = models.CharField(_("status"), max_length=20)
    connected = models.BooleanField(_("connected"))
    latency_ms = models.PositiveIntegerField(_("gateway latency (ms)"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    # Why the gateway could not be asked (the reasons of Instance.gateway_error); empty when it
    # answered. The timeline shows these stretches as an outage, not as a disconnected phone.
    gateway_error = models.CharField(_("gateway error"), max_length=40, blank=True)
    # A transition (connected -> disconnected or back) is flagged so the timeline needs no scan.
    transition = models.CharField(_("transition"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("health sample")
        verbose_name_plural = _("health samples")
        ordering = ["-at"]
        indexes = [models.Index(fields=["instance", "at"])]

    def __str__(self) -> str:
        return f"{self.instance_id} {self.at:%Y-%m-%d %H:%M:%S} {self.status}"
