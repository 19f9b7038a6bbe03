"""Offline minting of WPPConnect bearer tokens (contract §2.1), so the secret never travels."""

from __future__ import annotations

import hashlib
import threading

import bcrypt

from .errors import ConfigurationError

# bcrypt reads only the first 72 bytes and bcrypt>=5 raises beyond that (§2.1).
MAX_TOKEN_INPUT_BYTES = 72
# Cost 10 matches the server's generate-token; any cost verifies, this one is cheap enough.
BCRYPT_ROUNDS = 10

# Keyed by a digest so the cache's keys do not hold the secret in clear; every token stays
# valid until the secret changes (§2.1), so there is nothing to expire.
_cache: dict[str, str] = {}
_lock = threading.Lock()


def _cache_key(session: str, secret_key: str) -> str:
    return hashlib.sha256(f"{session}\x00{secret_key}".encode()).hexdigest()


def clear_token_cache() -> None:
    with _lock:
        _cache.clear()


def mint_token(session: str, secret_key: str) -> str:
    """Return a token the server accepts for ``session``: bcrypt(session + secret), "/" -> "_".

    Cached per (session, secret): bcrypt at cost 10 takes tens of milliseconds.
    """
    if not session or "/" in session or ":" in session:
        # ":" splits "session:token" in the path and "/" splits the route (§2.2, §5).
        raise ConfigurationError(
            "the session name must be non-empty and contain no '/' or ':'; check the session name"
        )
    if not secret_key:
        raise ConfigurationError("the gateway secret key is empty; check the secret key")
    material = (session + secret_key).encode("utf-8")
    if len(material) > MAX_TOKEN_INPUT_BYTES:
        raise ConfigurationError(
            f"session name plus secret key is {len(material)} bytes, over bcrypt's "
            f"{MAX_TOKEN_INPUT_BYTES}-byte limit; use a shorter secret key or session name"
        )
    key = _cache_key(session, secret_key)
    with _lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    hashed = bcrypt.hashpw(material, bcrypt.gensalt(rounds=BCRYPT_ROUNDS)).decode("ascii")
    # The server undoes "_" -> "/" and "-" -> "+" before comparing (§2.2).
    token = hashed.replace("/", "_")
    with _lock:
        _cache.setdefault(key, token)
        return _cache[key]
