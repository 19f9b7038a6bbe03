"""Encryption at rest for secrets (Fernet, key derived from WHATSAPP_ENCRYPTION_KEY).

Every encrypted column registers itself here with one line, `register("app.Model", "field")`,
next to its model; `manage.py whatsapp_rotate_key` re-encrypts every registered column from the
old key to the new one.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.core.exceptions import ImproperlyConfigured

from whatsapp.conf import conf


class SecretUnreadable(Exception):
    """The stored value was encrypted with another key (WHATSAPP_ENCRYPTION_KEY changed)."""


@dataclass(frozen=True)
class EncryptedField:
    model: str  # "app_label.ModelName"
    field: str


ENCRYPTED: list[EncryptedField] = []


def register(model: str, field: str) -> None:
    """Declare an encrypted column, so a key rotation re-encrypts it."""
    entry = EncryptedField(model, field)
    if entry not in ENCRYPTED:
        ENCRYPTED.append(entry)


def fernet_for(passphrase: str) -> Fernet:
    # Any passphrase becomes a valid 32-byte Fernet key; operators need not generate one by hand.
    digest = hashlib.sha256(passphrase.encode("utf-8")).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _fernet() -> Fernet:
    key = conf.ENCRYPTION_KEY
    if not key:
        raise ImproperlyConfigured(
            "WHATSAPP_ENCRYPTION_KEY is not set (system check whatsapp.E002)."
        )
    return fernet_for(key)


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


def readable(token: str, passphrase: str) -> bool:
    try:
        fernet_for(passphrase).decrypt(token.encode("ascii"))
    except InvalidToken:
        return False
    return True


def rotate(token: str, old: str, new: str) -> str:
    """The same secret, encrypted with `new`; `token` may be under either key."""
    return MultiFernet([fernet_for(new), fernet_for(old)]).rotate(token.encode("ascii")).decode()


def mask(plain: str) -> str:
    """What pages and the admin show instead of a secret."""
    return "••••••••" if plain else ""
