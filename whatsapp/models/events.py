from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class EventState(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPLIED = "applied", _("Applied")
    # Applying it raised: tried again with backoff (next_attempt_at), then set aside.
    FAILED = "failed", _("Failed, will retry")
    SET_ASIDE = "set_aside", _("Set aside")


class GatewayEvent(models.Model):
    """A webhook call as received, stored before it is applied (the inbox)."""

    instance = models.ForeignKey(
        "whatsapp.Instance",
        on_delete=models.CASCADE,
        related_name="events",
        verbose_name=_("instance"),
    )
    event = models.CharField(_("event"), max_length=40)
    payload = models.JSONField(_("payload"))
    # Deduplicates redelivered events that carry a gateway id (messages, acks). NULL, not "",
    # for events without one: the unique constraint must not treat them as duplicates.
    dedupe_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=200, blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=EventState.choices, default=EventState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("gateway event")
        verbose_name_plural = _("gateway events")
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "dedupe_key"], name="one_event_per_dedupe_key"
            )
        ]
        indexes = [
            models.Index(fields=["processed_at", "received_at"]),
            # The sweeper's look-ups: pending events whose doorbell was lost, failed ones due.
            models.Index(fields=["state", "next_attempt_at"], name="event_sweep_idx"),
            models.Index(fields=["instance", "state"], name="event_instance_state_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} #{self.pk}"


class InboundMessage(models.Model):
    """A message someone sent to one of our numbers, as `onmessage` described it.

    `sender` holds E.164 digits only when WhatsApp named the sender by phone number; a sender
    known only by a LID (`…@lid`, contract §7.3) has it in `sender_lid` and `sender` empty.
    `chat` is where a reply goes, written as `to` takes it: the sender's digits or LID in a
    one-to-one chat, the group's id (`…@g.us`) in a group, where the sender is the author.
    """

    instance = models.ForeignKey(
        "whatsapp.Instance",
        on_delete=models.CASCADE,
        related_name="inbound",
        verbose_name=_("instance"),
    )
    gateway_id = models.CharField(_("gateway id"), max_length=200)
    sender = models.CharField(_("from"), max_length=64, blank=True)
    sender_lid = models.CharField(_("sender's LID"), max_length=64, blank=True)
    chat = models.CharField(_("chat"), max_length=200, blank=True)
    push_name = models.CharField(_("push name"), max_length=100, blank=True)
    body = models.TextField(_("body"), blank=True)
    type = models.CharField(_("type"), max_length=30, blank=True)
    quoted_id = models.CharField(_("quoted message id"), max_length=200, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    # When a person opened its conversation in the inbox: unread counts are rows without it.
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("inbound message")
        verbose_name_plural = _("inbound messages")
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "gateway_id"], name="one_inbound_per_gateway_id"
            )
        ]
        indexes = [
            models.Index(fields=["received_at", "id"], name="inbound_page_idx"),
            models.Index(fields=["instance", "chat", "received_at"], name="inbound_chat_idx"),
        ]

    def __str__(self) -> str:
        return self.gateway_id
