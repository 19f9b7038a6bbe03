"""Pydantic schemas of instances (WhatsApp numbers) and their session operations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import Field

from whatsapp.models.instance import SessionStatus
from whatsapp.models.operation import OperationKind, OperationStatus

from .schemas import OptionalText, Strict


class Operation(Schema):
    id: int
    kind: OperationKind
    status: OperationStatus
    result: dict[str, Any] | None = Field(
        description="What the session showed: `qrcode` (a PNG data URL), `pairingCode`, the state."
    )
    error: str | None = Field(description="Why it failed, in the reader's language.")
    code: str | None = Field(description="The failure's stable code.")
    instance: str
    requested_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    elapsed_seconds: float | None
    url: str = Field(description="Where to poll this operation.")


class OperationAccepted(Schema):
    created: bool = Field(description="False when an operation of this kind was already active.")
    operation: Operation


class Instance(Schema):
    instance: str = Field(description="The slug.")
    name: str
    is_default: bool
    enabled: bool
    connected: bool
    status: SessionStatus
    status_label: str
    phone: str | None
    device: str | None
    has_qrcode: bool
    qr_png_url: str | None = Field(description="The QR to scan as a PNG, while one is waiting.")
    pairing_code: str | None
    code_produced_at: datetime | None
    code_expires_at: datetime | None
    needs_scan: bool
    last_error: str | None
    checked_at: datetime | None
    status_changed_at: datetime | None
    connected_since: datetime | None
    refreshing: bool = Field(description="A refresh of this stored state was just asked for.")
    operations: list[Operation] = Field(description="Operations still pending or running.")


class InstanceList(Schema):
    results: list[Instance]


class StartSession(Strict):
    phone: OptionalText = Field(
        None, description="Ask for a pairing code for this number instead of a QR code."
    )
