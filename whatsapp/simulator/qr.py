"""QR codes and pairing codes that look like what WhatsApp Web produces."""

from __future__ import annotations

import base64
import io
import secrets
import string

import segno

_B64_ALPHABET = string.ascii_letters + string.digits + "+/"
_PAIRING_ALPHABET = "ABCDEFGHJKLMNPQRSTVWXYZ0123456789"


def _token(length: int) -> str:
    return "".join(secrets.choice(_B64_ALPHABET) for _ in range(length))


def new_urlcode() -> str:
    # WhatsApp's "ref,publicKey,identityKey,advSecret" shape; only the look matters here.
    return f"2@{_token(60)},{_token(43)}=,{_token(43)}=,{_token(43)}="


def qr_png(urlcode: str) -> bytes:
    """A real, scannable PNG (error correction M, scale 5), like the server's `qrcode` package."""
    out = io.BytesIO()
    segno.make(urlcode, error="m", micro=False).save(out, kind="png", scale=5, border=4)
    return out.getvalue()


def png_base64(png: bytes) -> str:
    return base64.b64encode(png).decode("ascii")


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + png_base64(png)


def new_pairing_code() -> str:
    code = "".join(secrets.choice(_PAIRING_ALPHABET) for _ in range(8))
    return f"{code[:4]}-{code[4:]}"
