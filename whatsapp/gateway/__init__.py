"""HTTP client for WPPConnect Server. Plain library: no Django imports here.

See docs/gateway.md and shared/wppconnect-contract.md for the contract it follows.
"""

from __future__ import annotations

from .client import USER_AGENT, GatewayClient
from .errors import (
    ConfigurationError,
    GatewayError,
    GatewayTimeout,
    NotConnected,
    ProtocolError,
    Rejected,
    ServerError,
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
    "DeviceInfo",
    "GatewayClient",
    "GatewayError",
    "GatewayMessage",
    "GatewayTimeout",
    "NotConnected",
    "NumberStatus",
    "ProtocolError",
    "Rejected",
    "SentMessage",
    "ServerError",
    "SessionState",
    "Timeouts",
    "UnknownNumber",
    "Unreachable",
    "clear_token_cache",
    "mask_phone",
    "mint_token",
    "redact_text",
]
