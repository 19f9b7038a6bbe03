"""Alerts to people: an email to WHATSAPP_ALERT_EMAILS when a number disconnects, needs a new
scan, or a webhook endpoint is disabled.

`notify(kind, instance, **values)` is called inside the transaction of the change it reports
(the session state writer's listener below, the endpoint's disabling). It raises at most one
alert per instance and kind per hour, decided by a conditional update of an `AlertMark` row
(rows survive restarts; two workers racing raise one), writes an `Alert` row and rings a worker
after commit: a slow mail server never holds the state writer. The worker claims the row (token
and lease), sends, and marks it done; a mail server that is away leaves it pending for the sweep,
a few times, then failed.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from whatsapp import doorbell, signals
from whatsapp.conf import conf
from whatsapp.gateway import values as clean
from whatsapp.models import Alert, AlertMark, Instance, WebhookEndpoint
from whatsapp.models.alert import AlertKind
from whatsapp.models.media import WorkState
from whatsapp.services import claims, session_state

logger = logging.getLogger(__name__)

ONE_PER = timedelta(hours=1)
# Above the housekeeping queue's hard limit (60 s): past it the sending worker is surely gone.
SEND_LEASE = timedelta(seconds=90)
PENDING_GRACE = timedelta(seconds=60)
MAX_ATTEMPTS = 5
# Closing a session is what a person (or the gateway, told to) does on purpose: no alert.
DELIBERATE = ("close",)


def _mark_taken(key: str, now: datetime) -> bool:
    """True for the one caller that may raise this alert now."""
    if AlertMark.objects.filter(key=key, last_at__lte=now - ONE_PER).update(last_at=now):
        return True
    try:
        with transaction.atomic():
            AlertMark.objects.create(key=key, last_at=now)
    except IntegrityError:
        return False  # raised within the hour, or by a racing caller right now
    return True


def notify(kind: str, instance: Instance | int | None = None, **values: Any) -> Alert | None:
    """Raise an alert of `kind` (AlertKind) about `instance`; `values` fill its text (for an
    endpoint: `url`, `since`, and `endpoint`, its id, which makes each endpoint's alert its own).
    None when nobody is to be told or one was raised within the hour. Never put a secret in
    `values`: they are stored and mailed."""
    if not conf.ALERT_EMAILS:
        return None
    instance_id = instance.pk if isinstance(instance, Instance) else instance
    now = timezone.now()
    key = f"{kind}:{instance_id or '-'}:{values.get('endpoint', '')}"
    with transaction.atomic():
        if not _mark_taken(key[:80], now):
            return None
        alert = Alert.objects.create(
            instance_id=instance_id, kind=kind[:40], values=clean.clean_json(values)
        )
        doorbell.ring(doorbell.SEND_ALERT, alert.pk)
    return alert


@session_state.on_change
def _on_session_change(change: session_state.Change) -> None:
    """A connected number that drops: disconnected, or needs a new scan when its login is gone
    (logged out, or the gateway shows a QR code)."""
    if not change.was_connected or change.connected:
        return
    if change.reason == "logout" or change.new_status in session_state.WAITING_FOR_USER:
        notify(AlertKind.NEEDS_SCAN, change.instance_id)
    elif change.reason not in DELIBERATE:
        # The phone, the gateway's browser, or a gateway that cannot be reached: either way
        # nothing is sent from the number until it is back.
        notify(AlertKind.DISCONNECTED, change.instance_id)


@receiver(signals.webhook_endpoint_disabled)
def _on_endpoint_disabled(
    sender: Any, endpoint_id: Any = None, url: str = "", **kwargs: Any
) -> None:
    """An endpoint that failed every delivery for WEBHOOK_DISABLE_AFTER was disabled (the signal
    comes after that commit). Its address is shown without the query string, which may hold the
    receiver's own token."""
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
    since = endpoint.failing_since if endpoint else None
    notify(
        AlertKind.ENDPOINT_DISABLED,
        endpoint.instance_id if endpoint else None,
        url=urlsplit(url)._replace(query="", fragment="").geturl(),
        endpoint=str(endpoint_id),
        since=timezone.localtime(since).strftime("%Y-%m-%d %H:%M %Z") if since else "—",
    )


def _link(alert: Alert) -> str:
    base = conf.PUBLIC_URL.rstrip("/")
    if alert.instance is not None:
        return base + reverse("dashboard-session", args=[alert.instance.slug])
    return base + reverse("dashboard")


def compose(alert: Alert) -> tuple[str, str]:
    """(subject, body) of the email, in the site's language."""
    name = alert.instance.name if alert.instance else ""
    given: defaultdict[str, str] = defaultdict(lambda: "—")
    given.update({k: str(v) for k, v in alert.values.items()})
    given["instance"] = name
    if alert.kind == AlertKind.DISCONNECTED:
        subject = _("WhatsApp: the number “%(instance)s” disconnected")
        text = _(
            "The number “%(instance)s” is no longer connected to WhatsApp. Messages to send wait "
            "until it is connected again; if it does not come back on its own, open its page."
        )
    elif alert.kind == AlertKind.NEEDS_SCAN:
        subject = _("WhatsApp: the number “%(instance)s” needs a new scan")
        text = _(
            "The number “%(instance)s” lost its WhatsApp login. Nothing is sent from it until "
            "someone scans a new QR code on its page with the phone."
        )
    elif alert.kind == AlertKind.ENDPOINT_DISABLED:
        subject = _("WhatsApp: a webhook endpoint was disabled")
        text = _(
            "The webhook endpoint %(url)s failed every delivery since %(since)s and was "
            "disabled. Its events are no longer sent; enable it again once it answers."
        )
    else:
        subject = _("WhatsApp: %(kind)s") % {"kind": alert.kind}
        text = _("Something needs attention: %(kind)s.") % {"kind": alert.kind}
    subject, text = subject % given, text % given
    link = _("Open: %(url)s") % {"url": _link(alert)}
    return subject, f"{text}\n\n{link}\n"


def _finish(alert: Alert, token: Any, state: str, **fields: Any) -> bool:
    return claims.finish(Alert, alert.pk, token, state, **fields)


def run(alert_id: int | str) -> str:
    """Send one alert's email (the task)."""
    claimed = claims.claim(Alert, alert_id, SEND_LEASE)
    if claimed is None:
        return "not claimed"
    alert, token = claimed
    alert = Alert.objects.select_related("instance").get(pk=alert.pk)
    recipients = list(conf.ALERT_EMAILS)
    if not recipients:
        _finish(alert, token, WorkState.DONE, error="nobody to tell")
        return "nobody to tell"
    with translation.override(settings.LANGUAGE_CODE):
        subject, body = compose(alert)
    try:
        send_mail(subject, body, None, recipients)
    except (OSError, ValueError) as exc:  # smtplib's errors are OSErrors
        logger.warning("alert %s: the mail server refused or is away: %s", alert.pk, exc)
        state = WorkState.FAILED if alert.attempts >= MAX_ATTEMPTS else WorkState.PENDING
        _finish(alert, token, state, error=str(exc)[:500])
        return "later" if state == WorkState.PENDING else "failed"
    _finish(alert, token, WorkState.DONE, error="")
    return "sent"


def sweep(now: datetime) -> int:
    return claims.sweep(
        Alert,
        now,
        task=doorbell.SEND_ALERT,
        grace=PENDING_GRACE,
        max_attempts=MAX_ATTEMPTS,
    )
