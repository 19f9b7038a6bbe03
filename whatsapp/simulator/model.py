"""Session and settings records, and the server-level status names (contract §4.1)."""

from __future__ import annotations

from dataclasses import dataclass, field

INITIALIZING = "INITIALIZING"
QRCODE = "QRCODE"
PHONECODE = "PHONECODE"
CONNECTED = "CONNECTED"
CLOSED = "CLOSED"
CODE_STATES = (INITIALIZING, QRCODE, PHONECODE)


@dataclass
class Settings:
    auto_close: float
    qr_interval: float
    init_delay: float
    delivered_after: float | None = 0.2
    read_after: float | None = 0.4
    unknown_numbers: set[str] = field(default_factory=set)


@dataclass
class Session:
    # None for the `{status: null}` placeholder that close-session leaves behind.
    name: str | None
    status: str | None
    webhook: str | None = None
    urlcode: str | None = None
    qr_png: bytes | None = None
    qr_version: int = 0
    pairing_phone: str | None = None
    pairing_code: str | None = None
    own: str | None = None
    epoch: int = 0
