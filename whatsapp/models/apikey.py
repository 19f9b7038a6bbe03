from __future__ import annotations

import hashlib
import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _

PREFIX_LENGTH = 8


def hash_key(key: str) -> str:
    # Keys are 256-bit random strings: a plain SHA-256 is enough; bcrypt would cost every request.
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class ApiKey(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    prefix = models.CharField(_("prefix"), max_length=PREFIX_LENGTH, db_index=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def create(cls, name: str) -> tuple[ApiKey, str]:
        """Create a key; the clear key is returned once and never stored."""
        key = f"lw_{secrets.token_urlsafe(32)}"
        api_key = cls.objects.create(name=name, prefix=key[:PREFIX_LENGTH], key_hash=hash_key(key))
        return api_key, key
