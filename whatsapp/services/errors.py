"""Human messages for operation errors, stored as a code plus values and translated when shown.

Workers run in the server's language; the person reading the message may have chosen another, so
rows keep the code and its values, and the text is rendered per request.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from whatsapp.gateway import (
    ConfigurationError,
    GatewayError,
    GatewayTimeout,
    NotConnected,
    ProtocolError,
    ServerError,
    Unreachable,
)

MESSAGES = {
    "gateway_unreachable": _(
        "The gateway cannot be reached (%(detail)s). Check that WPPConnect Server is running and "
        "that the gateway URL is right."
    ),
    "gateway_timeout": _(
        "The gateway did not answer in time (%(detail)s). It may still finish on its side: "
        "refresh the status in a moment."
    ),
    "gateway_config": _(
        "The gateway refused the credentials: check the secret key and the session name."
    ),
    "gateway_error": _("The gateway answered with an error (HTTP %(status)s): %(detail)s"),
    "gateway_protocol": _(
        "The gateway's answer was not understood (%(detail)s). Check that the gateway URL points "
        "at WPPConnect Server."
    ),
    "not_connected": _("The WhatsApp session is not connected, so there is nothing to log out."),
    "stuck_initializing": _(
        "The gateway has been starting this session for more than %(seconds)s s without showing "
        "a QR code. WPPConnect stays like this when its browser cannot load WhatsApp Web (no "
        "internet access, or a browser left running by an earlier close). Check the gateway's "
        "logs. Restarting only the gateway's server process does not clear a leaked browser; "
        "restart the gateway's container (docker compose restart wppconnect), which ends every "
        "browser it started."
    ),
    "closed_during_start": _(
        "The gateway closed the session before it was ready (the QR code expired or its browser "
        "closed). Start again to get a new QR code."
    ),
    "no_pairing_code": _(
        "The gateway is waiting for a pairing code but has not sent it to this app. Check that "
        "the gateway can reach %(url)s."
    ),
    "switch_timed_out": _(
        "The gateway kept showing its previous code for more than %(minutes)s minutes, so the "
        "switch between QR code and pairing code was given up. Scan or type the code it shows, "
        "or try again once it has expired."
    ),
    "close_while_starting": _(
        "The session is still starting or waiting for a scan, so it was not closed: closing it "
        "now would leave the gateway's browser running and block the next start (a WPPConnect "
        "defect). It closes by itself when the QR code expires; or connect the phone, then close."
    ),
    "not_started": _("The session is not running on the gateway: there is nothing to close."),
    "close_failed": _(
        "The gateway could not close the session (%(detail)s); its status is now %(status)s."
    ),
    "time_limit": _("The operation took longer than its time limit and was stopped."),
    "worker_lost": _("The worker running this operation stopped before finishing it."),
    "secret_unreadable": _(
        "The stored secret key cannot be decrypted (WHATSAPP_ENCRYPTION_KEY changed). Enter the "
        "secret key again in the service settings."
    ),
    "instance_disabled": _(
        "This WhatsApp instance is disabled. Enable it in the service settings."
    ),
    "not_configured": _("The gateway secret key is not set. Enter it in the service settings."),
}


class OperationFailed(Exception):
    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def render(code: str, params: dict[str, Any] | None = None) -> str:
    template = MESSAGES.get(code)
    if template is None:
        return str(params.get("detail", code)) if params else code
    try:
        return str(template) % (params or {})
    except (KeyError, TypeError, ValueError):
        return str(template)


def from_gateway(exc: GatewayError) -> OperationFailed:
    detail = exc.message
    if isinstance(exc, ConfigurationError):
        return OperationFailed("gateway_config")
    if isinstance(exc, NotConnected):
        return OperationFailed("not_connected")
    if isinstance(exc, Unreachable):
        return OperationFailed("gateway_unreachable", detail=detail)
    if isinstance(exc, GatewayTimeout):
        return OperationFailed("gateway_timeout", detail=detail)
    if isinstance(exc, ProtocolError):
        return OperationFailed("gateway_protocol", detail=detail)
    if isinstance(exc, ServerError):
        return OperationFailed("gateway_error", status=exc.http_status, detail=detail)
    return OperationFailed("gateway_error", status=exc.http_status, detail=detail)
