from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable

from django.db import models
from django.utils.translation import gettext_lazy as _

from whatsapp.scopes import DEFAULT_SCOPES

PREFIX_LENGTH = 8


def hash_key(key: str) -> str:
    # Keys are 256-bit random strings: a plain SHA-256 is enough; bcrypt would cost every request.
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def default_scopes() -> list[str]:
    return list(DEFAULT_SCOPES)


class ApiKey(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    prefix = models.CharField(_("prefix"), max_length=PREFIX_LENGTH, db_index=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    # What the key may do (whatsapp.scopes.Scope values) and on which instances.
    scopes = models.JSONField(_("scopes"), default=default_scopes, blank=True)
    all_instances = models.BooleanField(
        _("every instance"),
        default=False,
        help_text=_("On: the key may use every instance, present and future."),
    )
    instances = models.ManyToManyField(
        "whatsapp.Instance",
        blank=True,
        related_name="api_keys",
        verbose_name=_("instances"),
        help_text=_("The instances the key may use when “every instance” is off."),
    )
    # Requests per second and burst; empty takes WHATSAPP["API_RATE_LIMIT"] / ["API_RATE_BURST"].
    rate_limit = models.PositiveIntegerField(
        _("requests per second"),
        null=True,
        blank=True,
        help_text=_("Empty: the default from the settings; 0: no limit."),
    )
    rate_burst = models.PositiveIntegerField(
        _("burst"),
        null=True,
        blank=True,
        help_text=_("Requests allowed at once above the rate. Empty: the default."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    # One-way: set by the revoke action or command, never cleared (no form edits it).
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def create(
        cls,
        name: str,
        *,
        scopes: Iterable[str] | None = None,
        instances: Iterable[object] | None = None,
    ) -> tuple[ApiKey, str]:
        """Create a key; the clear key is returned once and never stored.

        `instances` None means every instance; otherwise the key may use only those given.
        """
        key = f"lw_{secrets.token_urlsafe(32)}"
        api_key = cls.objects.create(
            name=name,
            prefix=key[:PREFIX_LENGTH],
            key_hash=hash_key(key),
            scopes=list(scopes) if scopes is not None else default_scopes(),
            all_instances=instances is None,
        )
        if instances is not None:
            api_key.instances.set(list(instances))  # type: ignore[arg-type]
        return api_key, key

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])
