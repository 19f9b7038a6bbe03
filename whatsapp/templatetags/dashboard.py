"""Template helpers of the dashboard: local SVG icons, status badge colours, times."""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.templatetags.static import static
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

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
    "undelivered": "warn",
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
def recipient_label(recipient: str) -> str:
    """A phone number with its +; a group's or a LID's id as it is."""
    return recipient if "@" in recipient else f"+{recipient}"


@register.filter
def session_tone(status: str) -> str:
    return SESSION_TONES.get(status, "warn")


@register.filter
def message_tone(status: str) -> str:
    return MESSAGE_TONES.get(status, "off")


FALLBACK_FORMATS = {"date": "SHORT_DATE_FORMAT", "day": "d/m"}


@register.simple_tag
def when(value: datetime | date | None, style: str = "datetime") -> str:
    """A time for times.js to show in the reader's zone and language.

    The text inside is the server's rendering (in the zone the browser reported, see
    `views/dashboard/common.page`), for the first paint and for browsers without scripts.
    """
    if not value:
        return "—"
    shown: date = value
    if isinstance(value, datetime) and timezone.is_aware(value):
        shown = timezone.localtime(value)
    iso = value.isoformat()
    fallback = date_format(shown, FALLBACK_FORMATS.get(style, "SHORT_DATETIME_FORMAT"))
    return format_html('<time datetime="{}" data-time="{}">{}</time>', iso, style, fallback)


@register.filter
def backticks(text: str) -> SafeString:
    """`code` spans in a translated sentence become <code>; everything else is escaped."""
    parts = escape(str(text)).split("`")
    return mark_safe(  # noqa: S308 - every part was escaped above
        "".join(f"<code>{part}</code>" if n % 2 else part for n, part in enumerate(parts))
    )


@register.filter
def outage_reason(reason: str) -> str:
    from whatsapp.services.outage import reason_label

    return reason_label(reason)


@register.filter
def session_label(status: str) -> str:
    from whatsapp.models.instance import SessionStatus

    try:
        return str(SessionStatus(status).label)
    except ValueError:
        return status
