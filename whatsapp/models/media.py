from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class MediaKind(models.TextChoices):
    """What WhatsApp shows a file as. `voice` is a voice note; `document` keeps its filename."""

    IMAGE = "image", _("Image")
    VIDEO = "video", _("Video")
    AUDIO = "audio", _("Audio")
    VOICE = "voice", _("Voice note")
    DOCUMENT = "document", _("Document")
    STICKER = "sticker", _("Sticker")


class MediaFile(models.Model):
    """One file's bytes in the media storage, stored once however many messages use it.

    Content addressed: the storage name is derived from the SHA-256, which is unique. The type is
    the one read from the bytes, never the one a client claimed.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sha256 = models.CharField(_("SHA-256"), max_length=64, unique=True)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    mime_type = models.CharField(_("type"), max_length=100)
    # The name it first came with (an upload's, a URL's last segment); a message may give another.
    filename = models.CharField(_("filename"), max_length=255, blank=True)
    # A new use (a message, an upload) moves it forward; pruning waits RETENTION days after it.
    last_used_at = models.DateTimeField(_("last used at"), db_index=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("media file")
        verbose_name_plural = _("media files")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.sha256[:12]} {self.mime_type}"

    @property
    def storage_name(self) -> str:
        return storage_name(self.sha256)


def storage_name(sha256: str) -> str:
    """`ab/cd/abcd…`: two levels of folders keep any one folder small."""
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


class WorkState(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ClaimedWork(models.Model):
    """A row a worker claims with a token and a lease before acting (as sends and operations).

    pending → running (token, lease) → done | failed. A running row past its lease lost its
    worker: the sweep sets it pending again (the try counted) or fails it after MAX tries.
    """

    state = models.CharField(
        _("state"), max_length=10, choices=WorkState.choices, default=WorkState.PENDING
    )
    token = models.UUIDField(null=True, blank=True, editable=False)
    lease_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        abstract = True


class MediaFetch(ClaimedWork):
    """A `media_url` that a worker downloads once for the messages waiting on it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    url = models.TextField(_("URL"))
    # The kind the waiting messages send it as: its size cap and allowed types.
    kind = models.CharField(_("kind"), max_length=10, choices=MediaKind.choices)
    media = models.ForeignKey(
        MediaFile, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("media fetch")
        verbose_name_plural = _("media fetches")
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["state", "updated_at"],
                condition=Q(state__in=["pending", "running"]),
                name="media_fetch_sweep_idx",
            )
        ]

    def __str__(self) -> str:
        return f"fetch {self.pk} {self.state}"


class InboundMedia(ClaimedWork):
    """The file of an inbound message, downloaded by a worker through the gateway."""

    inbound = models.OneToOneField(
        "whatsapp.InboundMessage",
        on_delete=models.CASCADE,
        related_name="media",
        verbose_name=_("inbound message"),
    )
    # The gateway's own words for it: WhatsApp's type (image, ptt, …) and declared details.
    kind = models.CharField(_("kind"), max_length=10, choices=MediaKind.choices)
    declared_mime_type = models.CharField(_("declared type"), max_length=100, blank=True)
    declared_size = models.PositiveBigIntegerField(_("declared size"), null=True, blank=True)
    filename = models.CharField(_("filename"), max_length=255, blank=True)
    caption = models.TextField(_("caption"), blank=True)
    file = models.ForeignKey(
        MediaFile,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inbound_uses",
        verbose_name=_("file"),
    )

    class Meta:
        verbose_name = _("inbound media")
        verbose_name_plural = _("inbound media")
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["state", "updated_at"],
                condition=Q(state__in=["pending", "running"]),
                name="inbound_media_sweep_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} of {self.inbound_id}"
