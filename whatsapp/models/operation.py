from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class OperationKind(models.TextChoices):
    START = "start", _("Start")
    CLOSE = "close", _("Close")
    LOGOUT = "logout", _("Log out")
    REFRESH = "refresh", _("Refresh")


class OperationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


ACTIVE_STATUSES = (OperationStatus.PENDING, OperationStatus.RUNNING)


class SessionOperation(models.Model):
    """A request to start, close, log out or refresh a session, run by a worker."""

    instance = models.ForeignKey(
        "whatsapp.Instance",
        on_delete=models.CASCADE,
        related_name="operations",
        verbose_name=_("instance"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=OperationKind.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=OperationStatus.choices, default=OperationStatus.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("requested by"),
    )
    # Digits of the phone to pair with a code instead of a QR (start only).
    phone = models.CharField(_("phone for pairing code"), max_length=32, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("session operation")
        verbose_name_plural = _("session operations")
        ordering = ["-created_at"]
        constraints = [
            # A double-click, two tabs or two admins get the running operation, not a second one.
            models.UniqueConstraint(
                fields=["instance", "kind"],
                condition=Q(status__in=["pending", "running"]),
                name="one_active_operation_per_kind",
            )
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES
