"""Texts the page scripts show, translated on the server and handed over as JSON."""

from __future__ import annotations

from django.utils.translation import gettext as _

from whatsapp.models.instance import SessionStatus
from whatsapp.models.message import MessageStatus


def session_strings() -> dict[str, object]:
    return {
        "opRunning": {
            "start": _("Starting the session…"),
            "logout": _("Logging out…"),
            "close": _("Closing the session…"),
            "refresh": _("Refreshing the status…"),
        },
        "opDone": {
            "start": _("The session started."),
            "logout": _("The session was logged out."),
            "close": _("The session was closed."),
            "refresh": _("The status was refreshed."),
        },
        "elapsed": _("Elapsed: %(seconds)s s"),
        "mayTake": _(
            "This can take up to 90 s. You can keep working: this page updates by itself."
        ),
        "qrCountdown": _("New QR code in %(seconds)s s"),
        "qrExpired": _("This QR code expired. Wait for the next one or refresh it."),
        "closedHint": _("The session is closed. Connect it to get a QR code."),
        "gatewayStarting": _(
            "The gateway is starting this session; its QR code or pairing code shows here."
        ),
        "gatewayDown": _("Gateway unavailable"),
        "askingCode": _("Asking the gateway for a pairing code…"),
        "switchingToCode": _(
            "Waiting for the gateway to drop its QR code, then asking for a pairing code…"
        ),
        "switchingToQr": _(
            "Waiting for the gateway to drop its pairing code, then asking for a QR code…"
        ),
        "pairingWaiting": _("Waiting for the pairing code…"),
        "confirmLogout": _(
            "Log out of WhatsApp on this number? To connect again you will scan a new QR code."
        ),
        "confirmClose": _(
            "Close the session? The gateway stops its browser for this number; the phone stays "
            "linked."
        ),
        "networkError": _("The server could not be reached. Check the connection and try again."),
        "badAnswer": _("The server's answer could not be read."),
        "failed": _("Failed"),
        "paused": _("Updates paused while this tab is hidden."),
        "updatedAt": _("Updated at %(time)s"),
        "never": _("never"),
        "phoneRequired": _("Enter a phone number."),
        "messageQueued": _("Message queued. Its status updates here."),
        "statusLabels": {str(v): str(label) for v, label in SessionStatus.choices},
        "messageLabels": {str(v): str(label) for v, label in MessageStatus.choices},
    }
