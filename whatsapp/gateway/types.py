"""Typed answers of the gateway client. Reprs mask phone numbers (they end up in logs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .redact import mask_phone, redact_text

STATUSES = ("CLOSED", "INITIALIZING", "QRCODE", "PHONECODE", "CONNECTED")


@dataclass(frozen=True)
class Timeouts:
    """Seconds. ``session`` is the read timeout of start, close and logout, which are slow."""

    connect: float = 5.0
    read: float = 60.0
    session: float = 90.0


@dataclass(frozen=True, repr=False)
class SessionState:
    status: str
    connected: bool
    qrcode: str | None
    version: str | None
    raw_status: str | None

    def __repr__(self) -> str:
        qr = f"<{len(self.qrcode)} chars>" if self.qrcode else None
        return (
            f"SessionState(status={self.status!r}, connected={self.connected!r}, qrcode={qr}, "
            f"version={self.version!r}, raw_status={self.raw_status!r})"
        )


@dataclass(frozen=True, repr=False)
class SentMessage:
    id: str
    ack: int
    to: str

    def __repr__(self) -> str:
        return (
            f"SentMessage(id={redact_text(self.id)!r}, ack={self.ack!r}, "
            f"to={mask_phone(self.to)!r})"
        )


@dataclass(frozen=True, repr=False)
class DeviceInfo:
    phone: str | None
    pushname: str | None
    platform: str | None
    raw: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        phone = mask_phone(self.phone) if self.phone else None
        return (
            f"DeviceInfo(phone={phone!r}, pushname={self.pushname!r}, "
            f"platform={self.platform!r}, raw=<{len(self.raw)} keys>)"
        )


@dataclass(frozen=True, repr=False)
class NumberStatus:
    exists: bool
    wid: str | None

    def __repr__(self) -> str:
        wid = mask_phone(self.wid) if self.wid else None
        return f"NumberStatus(exists={self.exists!r}, wid={wid!r})"


@dataclass(frozen=True, repr=False)
class GatewayMessage:
    id: str
    from_me: bool
    body: str
    timestamp: int | None
    ack: int | None
    to: str | None
    # WhatsApp's type (chat, image, video, audio, ptt, document, location, vcard, …) and what a
    # media, location or contact message shows: what reconciliation matches them by.
    type: str = ""
    caption: str = ""
    filename: str = ""
    latitude: float | None = None
    longitude: float | None = None
    contact_name: str = ""

    def __repr__(self) -> str:
        to = mask_phone(self.to) if self.to else None
        # The body is someone's message: its length is enough for a log.
        return (
            f"GatewayMessage(id={redact_text(self.id)!r}, from_me={self.from_me!r}, "
            f"body=<{len(self.body)} chars>, timestamp={self.timestamp!r}, ack={self.ack!r}, "
            f"to={to!r})"
        )
