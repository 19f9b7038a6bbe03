"""Template helpers of the dashboard: local SVG icons and status badge colours."""

from __future__ import annotations

from django import template
from django.templatetags.static import static
from django.utils.html import format_html

register = template.Library()

SESSION_TONES = {
    "CONNECTED": "ok",
    "INITIALIZING": "busy",
    "QRCODE": "busy",
    "PHONECODE": "busy",
    "CLOSED": "off",
    "UNKNOWN": "warn",
}
MESSAGE_TONES = {
    "queued": "off",
    "dispatched": "busy",
    "sending": "busy",
    "sent": "info",
    "delivered": "ok",
    "read": "ok",
    "failed": "bad",
    "unknown": "warn",
    "cancelled": "off",
    "expired": "warn",
}


@register.simple_tag
def icon(name: str, css: str = "icon") -> str:
    # Decorative: every control carries its own text or aria-label.
    return format_html(
        '<svg class="{}" aria-hidden="true" focusable="false"><use href="{}#{}"></use></svg>',
        css,
        static("whatsapp/icons/sprite.svg"),
        name,
    )


@register.filter
def session_tone(status: str) -> str:
    return SESSION_TONES.get(status, "warn")


@register.filter
def message_tone(status: str) -> str:
    return MESSAGE_TONES.get(status, "off")
