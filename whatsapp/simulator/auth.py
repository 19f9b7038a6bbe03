"""Token minting and checking, as the real server's encryptController and auth middleware do."""

from __future__ import annotations

import threading

import bcrypt

# Node's bcrypt silently truncates at 72 bytes; Python's bcrypt >= 5 raises instead.
_BCRYPT_MAX_BYTES = 72


def _secret_input(session: str, secret_key: str) -> bytes:
    return (session + secret_key).encode("utf-8")[:_BCRYPT_MAX_BYTES]


class TokenVerifier:
    """Mints and checks session tokens, remembering tokens that already passed.

    bcrypt costs 50-100 ms per check; a benchmark that sends thousands of requests with the
    same token would otherwise measure bcrypt rather than the client under test.
    """

    def __init__(self, secret_key: str) -> None:
        self.secret_key = secret_key
        self._ok: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def mint(self, session: str) -> str:
        hashed = bcrypt.hashpw(_secret_input(session, self.secret_key), bcrypt.gensalt(rounds=10))
        return hashed.decode("ascii").replace("/", "_").replace("+", "-")

    def verify(self, session: str, token: str) -> bool:
        key = (session, token)
        with self._lock:
            if key in self._ok:
                return True
        raw = token.replace("_", "/").replace("-", "+")
        try:
            ok = bcrypt.checkpw(_secret_input(session, self.secret_key), raw.encode("utf-8"))
        except ValueError:
            # Not a bcrypt hash at all (garbage token): the real server answers "wrong", not 500.
            ok = False
        if ok:
            with self._lock:
                self._ok.add(key)
        return ok


def split_session_segment(segment: str) -> tuple[str, str | None]:
    """`demo:$2b$10$...` carries the token in the path; anything else is a bare session name."""
    if ":" in segment:
        session, token = segment.split(":", 1)
        return session, token
    return segment, None


def token_from_header(header: str | None) -> str | None:
    """The server takes the second space-separated word and never looks at the scheme word."""
    if not header:
        return None
    parts = header.split(" ")
    if len(parts) < 2 or not parts[1]:
        return None
    return parts[1]
