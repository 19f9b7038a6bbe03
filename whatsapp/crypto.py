"""Encryption at rest for gateway secrets (Fernet, key derived from WHATSAPP_ENCRYPTION_KEY)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.core.exceptions import ImproperlyConfigured

from whatsapp.conf import conf


class SecretUnreadable(Exception):
    """The stored value was encrypted with another key (WHATSAPP_ENCRYPTION_KEY changed)."""


def _fernet() -> Fernet:
    key = conf.ENCRYPTION_KEY
    if not key:
        raise ImproperlyConfigured(
            "WHATSAPP_ENCRYPTION_KEY is not set (system check whatsapp.E002)."
        )
    # Any passphrase becomes a valid 32-byte Fernet key; operators need not generate one by hand.
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode("utf-8")).decode("ascii") if plain else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise SecretUnreadable(
            "The stored gateway secret cannot be decrypted: WHATSAPP_ENCRYPTION_KEY has changed. "
            "Enter the secret key again in the instance settings."
        ) from None


def mask(plain: str) -> str:
    """What pages and the admin show instead of a secret."""
    return "••••••••" if plain else ""
