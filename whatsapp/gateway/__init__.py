"""HTTP client for WPPConnect Server. Plain library: no Django imports here.

See docs/gateway.md and shared/wppconnect-contract.md for the contract it follows.
"""

from __future__ import annotations

from .client import USER_AGENT, GatewayClient
from .errors import (
    ConfigurationError,
    ConnectionDropped,
    ConnectionRefused,
    ConnectTimeout,
    GatewayError,
    GatewayTimeout,
    HostNotFound,
    NotConnected,
    ProtocolError,
    ReadTimeout,
    Rejected,
    ServerError,
    TlsFailure,
    UnknownNumber,
    Unreachable,
)
from .redact import mask_phone, redact_text
from .token import clear_token_cache, mint_token
from .types import (
    STATUSES,
    DeviceInfo,
    GatewayMessage,
    NumberStatus,
    SentMessage,
    SessionState,
    Timeouts,
)

__all__ = [
    "STATUSES",
    "USER_AGENT",
    "ConfigurationError",
    "ConnectTimeout",
    "ConnectionDropped",
    "ConnectionRefused",
    "DeviceInfo",
    "GatewayClient",
    "GatewayError",
    "GatewayMessage",
    "GatewayTimeout",
    "HostNotFound",
    "NotConnected",
    "NumberStatus",
    "ProtocolError",
    "ReadTimeout",
    "Rejected",
    "SentMessage",
    "ServerError",
    "SessionState",
    "Timeouts",
    "TlsFailure",
    "UnknownNumber",
    "Unreachable",
    "clear_token_cache",
    "mask_phone",
    "mint_token",
    "redact_text",
]
