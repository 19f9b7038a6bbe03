"""Outgoing webhooks: the endpoints applications register, and one delivery row per event and
endpoint (docs/events.md).

A delivery is a row before it is a request: it is written in the transaction of the change it
announces, so an event outlives a broker, a worker or a receiver that was down.
"""

from __future__ import annotations

import base64
import secrets
import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from whatsapp import crypto
from whatsapp.models.media import ClaimedWork

SECRET_PREFIX = "whsec_"


def new_signing_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


class EventType(models.TextChoices):
    MESSAGE_STATUS = "message.status", _("Message status changed")
    MESSAGE_RECEIVED = "message.received", _("Message received")
    SESSION_STATUS = "session.status", _("Session status changed")
    WEBHOOK_TEST = "webhook.test", _("Test event")


class WebhookEndpoint(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    url = models.URLField(_("URL"), max_length=2000)
    description = models.CharField(_("description"), max_length=200, blank=True)
    # The event types it receives; empty means every type (those added later too).
    event_types = models.JSONField(_("event types"), default=list, blank=True)
    # Only the events of this instance; none means every instance.
    instance = models.ForeignKey(
        "whatsapp.Instance",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="webhook_endpoints",
        verbose_name=_("instance"),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    secret_encrypted = models.TextField(_("signing secret (encrypted)"), editable=False)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    disabled_reason = models.CharField(_("why disabled"), max_length=200, blank=True)
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)
    # The first failed attempt since the last success: past WEBHOOK_DISABLE_AFTER, disabled.
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)
    created_by = models.CharField(_("created by"), max_length=160, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.url

    @property
    def secret(self) -> str:
        return crypto.decrypt(self.secret_encrypted)

    @secret.setter
    def secret(self, value: str) -> None:
        self.secret_encrypted = crypto.encrypt(value)

    def wants(self, event_type: str, instance_id: int | None) -> bool:
        if not self.enabled:
            return False
        if self.event_types and event_type not in self.event_types:
            return False
        return self.instance_id is None or self.instance_id == instance_id


crypto.register("whatsapp.WebhookEndpoint", "secret_encrypted")


class WebhookDelivery(ClaimedWork):
    """One event for one endpoint. pending → running → done (2xx) | pending again (retry,
    `next_attempt_at`) | failed (retries exhausted, or the endpoint disabled or removed)."""

    id = models.BigAutoField(primary_key=True)  # insertion order: a message's events in order
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("endpoint"),
    )
    instance = models.ForeignKey(
        "whatsapp.Instance",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("instance"),
    )
    event_id = models.CharField(_("event id"), max_length=40)
    event_type = models.CharField(_("event"), max_length=40)
    # The event exactly as signed and sent (JSON text keeps its key order; jsonb would not).
    body = models.TextField(_("body"))
    # The message the event is about: its deliveries to one endpoint go out in order.
    message_id = models.UUIDField(_("message"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    response_excerpt = models.TextField(_("answer (first bytes)"), blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event_id"], name="one_delivery_per_event_and_endpoint"
            )
        ]
        indexes = [
            models.Index(
                fields=["state", "next_attempt_at"],
                condition=Q(state__in=["pending", "running"]),
                name="webhook_delivery_open",
            ),
            models.Index(
                fields=["endpoint", "message_id", "id"],
                condition=Q(state__in=["pending", "running"]),
                name="webhook_delivery_order",
            ),
            # An endpoint's pending rows in the order they are sent.
            models.Index(
                fields=["endpoint", "id"],
                condition=Q(state="pending"),
                name="webhook_delivery_queue",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"
