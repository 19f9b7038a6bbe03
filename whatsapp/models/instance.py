from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import connections, models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from whatsapp import crypto


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


class SessionStatus(models.TextChoices):
    # The server-level statuses of contract §4.1, normalised by the gateway client.
    CLOSED = "CLOSED", _("Closed")
    INITIALIZING = "INITIALIZING", _("Starting")
    QRCODE = "QRCODE", _("Waiting for QR scan")
    PHONECODE = "PHONECODE", _("Waiting for pairing code")
    CONNECTED = "CONNECTED", _("Connected")
    UNKNOWN = "UNKNOWN", _("Unknown")


# Bounds of the pacing settings: past them a value is a typo, and a huge one (1e308) would
# overflow the dispatcher's date arithmetic for every instance.
MAX_GAP_SECONDS = 3600
MAX_CAP_PER_MINUTE = 1_000
MAX_CAP_PER_HOUR = 60_000
MAX_CAP_PER_DAY = 1_000_000
PACING_BOUNDS = {
    "min_gap_seconds": MAX_GAP_SECONDS,
    "max_gap_seconds": MAX_GAP_SECONDS,
    "cap_per_minute": MAX_CAP_PER_MINUTE,
    "cap_per_hour": MAX_CAP_PER_HOUR,
    "cap_per_day": MAX_CAP_PER_DAY,
}

# The session state, written only by whatsapp.services.session_state.
STATE_FIELDS = frozenset(
    {
        "status",
        "connected",
        "phone",
        "device",
        "qr_code",
        "pairing_code",
        "code_produced_at",
        "last_error",
        "checked_at",
        "status_changed_at",
        "connected_since",
        "gateway_error",
        "unreachable_since",
        "needs_scan",
    }
)
# Fields other processes keep current (the dispatcher's next send, the recorder's claim and its
# reconnect bookkeeping) besides the state. `Instance.save()` of a loaded row leaves them all
# out, so a stale copy in a form or the admin cannot overwrite them.
RUNTIME_FIELDS = STATE_FIELDS | {
    "next_send_at",
    "health_claimed_at",
    "reconnect_attempts",
    "reconnect_window_start",
    "next_reconnect_at",
}


def _bounded(upper: float) -> list[MinValueValidator | MaxValueValidator]:
    return [MinValueValidator(0), MaxValueValidator(upper)]


class InstanceQuerySet(models.QuerySet["Instance"]):
    def locked(self, *, skip_locked: bool = False) -> InstanceQuerySet:
        """The rows, locked until the transaction ends against every other writer of them.

        `FOR NO KEY UPDATE`, not `FOR UPDATE`: no writer here changes an instance's key, and
        `FOR UPDATE` also conflicts with the `FOR KEY SHARE` lock PostgreSQL's foreign-key check
        takes on the instance for every message and attempt row inserted. A dispatch or a session
        change would then stall every enqueue and every send's claim of the instance while it
        runs, and a refill's `SKIP LOCKED` would find the row taken by any send mid-claim.
        """
        no_key = connections[self.db].features.has_select_for_no_key_update
        return self.select_for_update(skip_locked=skip_locked, no_key=no_key)


class Instance(models.Model):
    """One WhatsApp number = one WPPConnect session, with its last known state."""

    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    session_name = models.CharField(
        _("session name"),
        max_length=60,
        help_text=_("The WPPConnect session; letters, digits, - and _ only."),
    )
    gateway_url = models.URLField(_("gateway URL"), max_length=300)
    secret_key_encrypted = models.TextField(_("secret key (encrypted)"), blank=True, editable=False)
    webhook_secret = models.CharField(max_length=64, default=new_webhook_secret, editable=False)
    enabled = models.BooleanField(_("enabled"), default=True)
    is_default = models.BooleanField(_("default instance"), default=False)
    auto_reconnect = models.BooleanField(_("reconnect automatically"), default=True)
    # Per-number permissions: a user listed on any instance sees and operates only the instances
    # that list them (whatsapp.access); users listed nowhere keep every instance.
    operators = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="whatsapp_instances",
        verbose_name=_("limited to these users"),
        help_text=_(
            "A user listed on any instance sees and operates only the instances that list them. "
            "Users listed on none see every instance their permissions allow."
        ),
    )

    # Pacing: a random gap between two sends and caps per window; 0 switches one off.
    min_gap_seconds = models.FloatField(
        _("minimum gap between sends (s)"), default=3.0, validators=_bounded(MAX_GAP_SECONDS)
    )
    max_gap_seconds = models.FloatField(
        _("maximum gap between sends (s)"), default=8.0, validators=_bounded(MAX_GAP_SECONDS)
    )
    cap_per_minute = models.PositiveIntegerField(
        _("sends per minute"), default=8, validators=_bounded(MAX_CAP_PER_MINUTE)
    )
    cap_per_hour = models.PositiveIntegerField(
        _("sends per hour"), default=200, validators=_bounded(MAX_CAP_PER_HOUR)
    )
    cap_per_day = models.PositiveIntegerField(
        _("sends per day"), default=1000, validators=_bounded(MAX_CAP_PER_DAY)
    )
    next_send_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Last known state, kept by operations, webhooks and the health recorder.
    status = models.CharField(
        _("status"), max_length=20, choices=SessionStatus.choices, default=SessionStatus.CLOSED
    )
    connected = models.BooleanField(_("connected"), default=False)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    device = models.JSONField(_("device"), default=dict, blank=True)
    qr_code = models.TextField(_("QR code"), blank=True)
    pairing_code = models.CharField(_("pairing code"), max_length=32, blank=True)
    code_produced_at = models.DateTimeField(_("code produced at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    checked_at = models.DateTimeField(_("checked at"), null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    connected_since = models.DateTimeField(_("connected since"), null=True, blank=True)
    # The gateway could not be asked: why (refused, dns, connect_timeout, tls, read_timeout,
    # dropped, http, protocol, secret) and since when; cleared by its next answer.
    gateway_error = models.CharField(_("gateway error"), max_length=40, blank=True)
    unreachable_since = models.DateTimeField(_("gateway unreachable since"), null=True, blank=True)

    # Auto-reconnect bookkeeping: attempts in the current hour, and when the next may run.
    reconnect_attempts = models.PositiveIntegerField(default=0)
    reconnect_window_start = models.DateTimeField(null=True, blank=True)
    next_reconnect_at = models.DateTimeField(null=True, blank=True)
    needs_scan = models.BooleanField(_("needs a new scan"), default=False)
    # The health recorder's claim: one sample per period however many beats ask for it.
    health_claimed_at = models.DateTimeField(null=True, blank=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = InstanceQuerySet.as_manager()

    class Meta:
        verbose_name = _("instance")
        verbose_name_plural = _("instances")
        ordering = ["-is_default", "name"]
        permissions = [("operate_instance", _("Can start, close and log out sessions and send"))]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_instance"
            ),
            models.UniqueConstraint(
                fields=["gateway_url", "session_name"], name="one_instance_per_gateway_session"
            ),
            # Whatever writes them (a form, the admin, a script, SQL), pacing stays in bounds.
            models.CheckConstraint(
                condition=Q(min_gap_seconds__gte=0, min_gap_seconds__lte=MAX_GAP_SECONDS),
                name="min_gap_in_bounds",
                violation_error_message=_("The gaps must be between 0 and 3600 seconds."),
            ),
            models.CheckConstraint(
                condition=Q(
                    max_gap_seconds__gte=F("min_gap_seconds"),
                    max_gap_seconds__lte=MAX_GAP_SECONDS,
                ),
                name="max_gap_in_bounds",
                violation_error_message=_(
                    "The maximum gap must not be less than the minimum gap, nor above 3600 s."
                ),
            ),
            models.CheckConstraint(
                condition=Q(
                    cap_per_minute__lte=MAX_CAP_PER_MINUTE,
                    cap_per_hour__lte=MAX_CAP_PER_HOUR,
                    cap_per_day__lte=MAX_CAP_PER_DAY,
                ),
                name="caps_in_bounds",
                violation_error_message=_("A cap is above its limit."),
            ),
            # One rule for the dispatcher and the pages: connected exactly when CONNECTED.
            models.CheckConstraint(
                condition=Q(connected=True, status="CONNECTED")
                | (Q(connected=False) & ~Q(status="CONNECTED")),
                name="connected_iff_status_connected",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The secret belongs to the gateway it was entered for: a new URL or session name without
        # the secret entered again clears it, so the token minted from it never travels to an
        # address nobody holding the secret chose.
        if (
            not self._state.adding
            and self.gateway_changed()
            and not getattr(self, "_secret_entered", False)
        ):
            self.secret_key_encrypted = ""
        # Saving a loaded row writes its settings only: the state and the runtime fields may
        # have changed since this copy was read, and each has its own writer.
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name not in RUNTIME_FIELDS
            ]
        super().save(*args, **kwargs)
        self._remember_gateway()

    @classmethod
    def from_db(cls, db: Any, field_names: Any, values: Any, **kwargs: Any) -> Instance:
        instance = super().from_db(db, field_names, values, **kwargs)
        instance._remember_gateway()
        return instance

    def _remember_gateway(self) -> None:
        # What the stored secret was entered for (see save()).
        self._loaded_gateway = (self.__dict__.get("gateway_url"), self.__dict__.get("session_name"))
        self._secret_entered = False

    def gateway_changed(self) -> bool:
        loaded = getattr(self, "_loaded_gateway", None)
        return loaded is not None and loaded != (self.gateway_url, self.session_name)

    @property
    def secret_key(self) -> str:
        return crypto.decrypt(self.secret_key_encrypted)

    @secret_key.setter
    def secret_key(self, value: str) -> None:
        self.secret_key_encrypted = crypto.encrypt(value)
        self._secret_entered = True

    @property
    def has_secret_key(self) -> bool:
        return bool(self.secret_key_encrypted)


# A key rotation (manage.py whatsapp_rotate_key) re-encrypts it.
crypto.register("whatsapp.Instance", "secret_key_encrypted")
