from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    DISPATCHED = "dispatched", _("Dispatched")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    READ = "read", _("Read")
    FAILED = "failed", _("Failed")
    UNKNOWN = "unknown", _("Unknown, being checked")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")
    # Sent, but no delivery receipt after WHATSAPP_UNDELIVERED_AFTER; a late receipt still
    # moves it on.
    UNDELIVERED = "undelivered", _("Not delivered")


# Statuses a message never leaves, and those a person may still cancel.
FINAL_STATUSES = (
    MessageStatus.SENT,
    MessageStatus.UNDELIVERED,
    MessageStatus.DELIVERED,
    MessageStatus.READ,
    MessageStatus.FAILED,
    MessageStatus.CANCELLED,
    MessageStatus.EXPIRED,
)
CANCELLABLE_STATUSES = (MessageStatus.QUEUED, MessageStatus.DISPATCHED)
REQUEUEABLE_STATUSES = (MessageStatus.FAILED, MessageStatus.EXPIRED, MessageStatus.CANCELLED)
# Receipts only move forward: sent < delivered < read.
ACK_ORDER = {MessageStatus.SENT: 1, MessageStatus.DELIVERED: 2, MessageStatus.READ: 3}


class AttemptOutcome(models.TextChoices):
    """How one try ended. Chosen from the gateway error's type, never from its text."""

    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    NOT_CONNECTED = "not_connected", _("Session not connected")
    UNKNOWN_NUMBER = "unknown_number", _("Number not on WhatsApp")
    UNREACHABLE = "unreachable", _("Gateway unreachable")
    REJECTED = "rejected", _("Refused by the gateway")
    UNKNOWN = "unknown", _("Unknown: the answer was lost")
    LOST = "lost", _("The worker stopped mid-send")


# Tries that prove the gateway sent nothing to WhatsApp: they use no pacing budget. An unknown
# number is not among them: the gateway asked WhatsApp about it first (contract §5.8), and a
# number that probes many unknown numbers is what WhatsApp bans.
NOT_SENT_OUTCOMES = (
    AttemptOutcome.NOT_CONNECTED,
    AttemptOutcome.UNREACHABLE,
    AttemptOutcome.REJECTED,
)


class Resolution(models.TextChoices):
    """What a person decided about a message whose send stayed ambiguous."""

    SENT = "sent", _("It was sent")
    RESEND = "resend", _("Send it again")


class MessageKind(models.TextChoices):
    TEXT = "text", _("Text")
    IMAGE = "image", _("Image")
    VIDEO = "video", _("Video")
    AUDIO = "audio", _("Audio")
    VOICE = "voice", _("Voice note")
    DOCUMENT = "document", _("Document")
    LOCATION = "location", _("Location")
    CONTACT = "contact", _("Contact card")


# Kinds that carry a file; of them, those WhatsApp shows with a caption.
MEDIA_KINDS = (
    MessageKind.IMAGE,
    MessageKind.VIDEO,
    MessageKind.AUDIO,
    MessageKind.VOICE,
    MessageKind.DOCUMENT,
)
CAPTIONED_KINDS = (MessageKind.IMAGE, MessageKind.VIDEO, MessageKind.DOCUMENT)


class Priority(models.IntegerChoices):
    HIGH = 0, _("high")
    NORMAL = 5, _("normal")
    LOW = 9, _("low")


class OutboundMessage(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: msg_dispatch_idx starts with it. A second index on the column alone
    # cost every status change one more index entry, and the planner, seeing two, took the
    # narrower one for the in-flight count and read every message of the instance through it.
    instance = models.ForeignKey(
        "whatsapp.Instance",
        on_delete=models.PROTECT,
        related_name="messages",
        verbose_name=_("instance"),
        db_index=False,
    )
    # E.164 digits for a person; a group's id (`…@g.us`) or a LID (`…@lid`) as the gateway gives it.
    recipient = models.CharField(
        _("recipient"), max_length=64, help_text=_("E.164 digits, no +; or a group id")
    )
    kind = models.CharField(
        _("type"), max_length=10, choices=MessageKind.choices, default=MessageKind.TEXT
    )
    # The text of a text message; the caption of an image, video or document.
    body = models.TextField(_("text"))
    media = models.ForeignKey(
        "whatsapp.MediaFile",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name=_("file"),
    )
    # A `media_url` still being fetched: the message is not sent before it is done.
    media_fetch = models.ForeignKey(
        "whatsapp.MediaFetch",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name=_("media fetch"),
    )
    awaiting_media = models.BooleanField(_("waiting for its file"), default=False)
    filename = models.CharField(_("filename"), max_length=255, blank=True)
    # A location's {latitude, longitude, name, address}; a contact card's {name, phones}.
    content = models.JSONField(_("content"), null=True, blank=True)
    # One of ours this replies to (its gateway id is read when the reply is sent), or the gateway
    # id of the quoted message itself.
    reply_to = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="replies",
        verbose_name=_("reply to"),
    )
    quoted_id = models.CharField(_("quoted message id"), max_length=200, blank=True)
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    not_before = models.DateTimeField(_("send after"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    # NULL when absent, so the unique constraint only binds messages that carry a key.
    idempotency_key = models.CharField(  # noqa: DJ001
        _("idempotency key"), max_length=200, null=True, blank=True
    )
    request_fingerprint = models.CharField(max_length=64, blank=True)
    # The application's own JSON object (an order id, a customer id), returned with the message.
    metadata = models.JSONField(_("metadata"), null=True, blank=True)

    status = models.CharField(
        _("status"), max_length=12, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    dispatch_token = models.UUIDField(null=True, blank=True, editable=False)
    lease_expires_at = models.DateTimeField(null=True, blank=True, editable=False)

    gateway_message_id = models.CharField(_("gateway message id"), max_length=200, blank=True)
    ack = models.SmallIntegerField(_("ack"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    failed_at = models.DateTimeField(_("failed at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    # An unknown send past WHATSAPP_UNKNOWN_GRACE waits for a person: since when, and what they
    # decided (who, when). Cleared when the message leaves unknown.
    needs_review_since = models.DateTimeField(_("needs review since"), null=True, blank=True)
    resolution = models.CharField(
        _("resolution"), max_length=10, choices=Resolution.choices, blank=True
    )
    resolved_by = models.CharField(_("resolved by"), max_length=150, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    enqueued_by = models.CharField(_("enqueued by"), max_length=120, blank=True)
    # The API key that created it: a key reads only its own messages (unless read-all), and its
    # idempotency keys are its own. Keys are revoked, never deleted, while messages name them.
    api_key = models.ForeignKey(
        "whatsapp.ApiKey",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="messages",
        verbose_name=_("API key"),
    )

    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("outbound message")
        verbose_name_plural = _("outbound messages")
        ordering = ["-created_at"]
        constraints = [
            # Idempotency keys are per API key: key B never gets key A's message back, nor
            # learns that A used the key. Messages of the Python API and the dashboard share one.
            models.UniqueConstraint(
                fields=["instance", "api_key", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False, api_key__isnull=False),
                name="one_message_per_api_key_idempotency_key",
            ),
            models.UniqueConstraint(
                fields=["instance", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False, api_key__isnull=True),
                name="one_message_per_idempotency_key",
            ),
        ]
        indexes = [
            models.Index(
                fields=["instance", "status", "priority", "created_at"], name="msg_dispatch_idx"
            ),
            models.Index(fields=["status", "lease_expires_at"], name="msg_lease_idx"),
            # The dispatcher expires due messages before each claim: without this it reads every
            # queued row of the instance to find the few with an expiry (docs/benchmarks.md).
            models.Index(
                fields=["expires_at"],
                condition=Q(status="queued", expires_at__isnull=False),
                name="msg_expiry_idx",
            ),
            models.Index(fields=["gateway_message_id"], name="msg_gateway_id_idx"),
            models.Index(fields=["recipient", "created_at"], name="msg_recipient_idx"),
            models.Index(
                fields=["needs_review_since"],
                condition=Q(needs_review_since__isnull=False),
                name="msg_review_idx",
            ),
            # The sweep's look-up of sent messages never delivered (WHATSAPP_UNDELIVERED_AFTER).
            models.Index(
                fields=["sent_at"], condition=Q(status="sent"), name="msg_undelivered_idx"
            ),
        ]

    def __str__(self) -> str:
        return str(self.id)


class MessageAttempt(models.Model):
    message = models.ForeignKey(
        OutboundMessage,
        on_delete=models.CASCADE,
        related_name="attempt_log",
        verbose_name=_("message"),
    )
    # The message's instance, copied so pacing reads one index range instead of a join.
    # No index of its own: attempt_window_idx starts with it.
    instance = models.ForeignKey(
        "whatsapp.Instance", on_delete=models.CASCADE, related_name="+", null=True, db_index=False
    )
    number = models.PositiveIntegerField(_("attempt"))
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=30, choices=AttemptOutcome.choices)
    # "hostname:pid" of the worker process making the call, so a dead one's try is released.
    worker = models.CharField(_("worker"), max_length=200, blank=True)
    http_status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("message attempt")
        verbose_name_plural = _("message attempts")
        ordering = ["message", "number"]
        indexes = [
            # Pacing counts an instance's tries that finished in the last minute, hour and day,
            # and those still in flight: two short index ranges, whatever the history.
            models.Index(fields=["instance", "finished_at"], name="attempt_window_idx"),
            models.Index(
                fields=["instance"],
                condition=Q(finished_at__isnull=True),
                name="attempt_in_flight_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} #{self.number} {self.outcome}"
