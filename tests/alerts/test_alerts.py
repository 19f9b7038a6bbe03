"""Alert emails: a number that disconnects or needs a new scan tells WHATSAPP_ALERT_EMAILS once
per hour and kind, from a worker, with the instance's name and a link to its page."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail import send_mail
from django.utils import timezone

from whatsapp.models import Alert, AlertMark, Instance
from whatsapp.models.alert import AlertKind
from whatsapp.models.instance import SessionStatus
from whatsapp.models.media import WorkState
from whatsapp.services import alerts, session_state, sweeps
from whatsapp.services.session_state import Observed

pytestmark = pytest.mark.django_db


@pytest.fixture
def told(whatsapp_conf, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    whatsapp_conf.ALERT_EMAILS = ["ops@example.com", "owner@example.com"]
    whatsapp_conf.PUBLIC_URL = "https://whatsapp.example.com"
    return whatsapp_conf


@pytest.fixture
def instance(make_instance):
    return make_instance("loja", name="Loja Centro")


def connected(instance: Instance) -> None:
    session_state.observe(instance, Observed(SessionStatus.CONNECTED))


def drop(instance: Instance, reason: str = "phone", status: str = SessionStatus.CLOSED) -> None:
    session_state.observe(instance, Observed(status, reason=reason))


def send_rung(rung) -> list[str]:
    return [alerts.run(pk) for pk in rung.args_of("whatsapp.alerts.send")]


def test_a_disconnect_sends_one_email_and_a_second_within_the_hour_none(told, instance, rung):
    connected(instance)
    drop(instance)
    assert send_rung(rung) == ["sent"]
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["ops@example.com", "owner@example.com"]
    assert "Loja Centro" in email.subject and "Loja Centro" in email.body
    assert "https://whatsapp.example.com/system/whatsapp/instances/loja/" in email.body
    rung.clear()
    connected(instance)
    drop(instance)
    assert rung.args_of("whatsapp.alerts.send") == []
    assert Alert.objects.count() == 1 and len(mail.outbox) == 1


def test_after_an_hour_the_next_disconnect_is_told_again(told, instance, rung):
    connected(instance)
    drop(instance)
    AlertMark.objects.update(last_at=timezone.now() - timedelta(hours=1, seconds=1))
    connected(instance)
    drop(instance, reason="gateway", status=SessionStatus.UNKNOWN)
    assert send_rung(rung) == ["sent", "sent"]
    assert len(mail.outbox) == 2


def test_kinds_and_instances_are_counted_apart(told, instance, make_instance, rung):
    other = make_instance("outra", default=False)
    for each in (instance, other):
        connected(each)
        drop(each)
    connected(instance)
    drop(instance, reason="logout")
    kinds = sorted(Alert.objects.values_list("instance__slug", "kind"))
    assert kinds == [("loja", "disconnected"), ("loja", "needs_scan"), ("outra", "disconnected")]


def test_a_qr_code_where_a_login_was_means_a_new_scan_is_needed(told, instance, rung):
    connected(instance)
    session_state.observe(instance, Observed(SessionStatus.QRCODE, qr_code="data:image/png;x"))
    assert send_rung(rung) == ["sent"]
    assert Alert.objects.get().kind == AlertKind.NEEDS_SCAN
    assert "QR" in mail.outbox[0].subject


def test_the_reconnect_that_finds_a_qr_code_tells_once(told, instance, rung):
    session_state.mark_needs_scan(instance, "needs a new scan")
    session_state.mark_needs_scan(instance, "needs a new scan")
    assert [a.kind for a in Alert.objects.all()] == [AlertKind.NEEDS_SCAN]
    assert Instance.objects.get(pk=instance.pk).needs_scan


def test_closing_on_purpose_and_a_session_never_connected_tell_nobody(told, instance, rung):
    drop(instance)  # never connected
    connected(instance)
    drop(instance, reason="close")
    assert not Alert.objects.exists() and rung.args_of("whatsapp.alerts.send") == []


def test_without_recipients_nothing_is_written(whatsapp_conf, instance, rung):
    whatsapp_conf.ALERT_EMAILS = []
    connected(instance)
    drop(instance)
    assert not Alert.objects.exists() and not AlertMark.objects.exists()


def test_the_email_is_in_portuguese_by_default(told, instance, rung, settings):
    settings.LANGUAGE_CODE = "pt-br"
    connected(instance)
    drop(instance)
    send_rung(rung)
    assert "desconectou" in mail.outbox[0].subject


def test_a_disabled_endpoint_alert_names_its_url_and_links_the_dashboard(told, rung):
    hook = {"url": "https://app.example.com/hook", "endpoint": 7}
    alert = alerts.notify(AlertKind.ENDPOINT_DISABLED, **hook)
    assert alert is not None and alert.instance is None
    assert alerts.notify(AlertKind.ENDPOINT_DISABLED, **hook) is None
    other = {"url": "https://crm.example.com/in", "endpoint": 8}
    assert alerts.notify(AlertKind.ENDPOINT_DISABLED, **other) is not None
    assert send_rung(rung) == ["sent", "sent"]
    assert "https://app.example.com/hook" in mail.outbox[0].body
    assert "https://whatsapp.example.com/system/whatsapp/" in mail.outbox[0].body


def test_a_mail_server_that_is_away_leaves_the_alert_for_the_sweep(
    told, instance, rung, monkeypatch
):
    def refuse(*args, **kwargs):
        raise smtplib.SMTPConnectError(421, "try later")

    monkeypatch.setattr(alerts, "send_mail", refuse)
    connected(instance)
    drop(instance)
    assert send_rung(rung) == ["later"]
    alert = Alert.objects.get()
    assert alert.state == WorkState.PENDING and "try later" in alert.error
    assert alerts.run(alert.pk) == "later"  # a second delivery of the task tries again
    monkeypatch.setattr(alerts, "send_mail", send_mail)  # the mail server is back
    told.ALERT_EMAILS = ["ops@example.com"]
    Alert.objects.update(updated_at=timezone.now() - timedelta(minutes=5))
    rung.clear()
    assert sweeps.sweep_all()["alerts"] == 1, rung
    assert send_rung(rung) == ["sent"]
    assert alerts.run(alert.pk) == "not claimed"


def test_the_state_writer_does_not_wait_for_the_mail_server(told, instance, rung, monkeypatch):
    calls = []
    monkeypatch.setattr(alerts, "send_mail", lambda *a, **k: calls.append(a))
    connected(instance)
    drop(instance)
    assert calls == []  # only a row and a doorbell inside the writer's transaction
    assert Alert.objects.get().state == WorkState.PENDING


def test_an_endpoint_the_deliveries_disable_is_told_once_without_its_query(
    told, instance, rung, django_capture_on_commit_callbacks
):
    from whatsapp import audit
    from whatsapp.models import WebhookEndpoint
    from whatsapp.services import webhook_delivery, webhook_endpoints

    endpoint, _secret = webhook_endpoints.create(
        audit.PYTHON, url="https://crm.example.com/hooks?token=abc123", instance="loja"
    )
    now = timezone.now()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=now - timedelta(days=4))
    with django_capture_on_commit_callbacks(execute=True):
        webhook_delivery._note_failure(endpoint.pk, now)
    with django_capture_on_commit_callbacks(execute=True):
        webhook_delivery._note_failure(endpoint.pk, now)  # already disabled: nothing new
    alert = Alert.objects.get()
    assert (alert.kind, alert.instance_id) == (AlertKind.ENDPOINT_DISABLED, instance.pk)
    assert send_rung(rung) == ["sent"]
    assert "https://crm.example.com/hooks" in mail.outbox[0].body
    assert "abc123" not in mail.outbox[0].body
