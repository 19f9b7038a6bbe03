"""The dashboard's pages and JSON endpoints through Django's test client (no browser)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from whatsapp.models import HealthSample, Instance, OutboundMessage
from whatsapp.models.message import MessageStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def instance(db) -> Instance:
    item = Instance(
        slug="main",
        name="Main",
        session_name="main",
        gateway_url="http://127.0.0.1:9",
        is_default=True,
    )
    item.secret_key = "stored-secret-key"
    item.save()
    return item


def settings_data(**changes):
    data = {
        "gateway_url": "http://127.0.0.1:9",
        "session_name": "main",
        "enabled": "on",
        "min_gap_seconds": "3",
        "max_gap_seconds": "8",
        "cap_per_minute": "8",
        "cap_per_hour": "200",
        "cap_per_day": "1000",
    }
    data.update(changes)
    return data


def test_staff_land_on_the_session_page_from_home(operator_client, instance):
    response = operator_client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/system/whatsapp/"


def test_the_session_page_needs_a_login(client, instance):
    response = client.get("/system/whatsapp/", HTTP_ACCEPT="text/html")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_staff_without_the_permission_get_a_403_page(client, django_user_model, instance):
    user = django_user_model.objects.create_user("visitante", password="x", is_staff=True)
    client.force_login(user)
    response = client.get("/system/whatsapp/", HTTP_ACCEPT="text/html")
    assert response.status_code == 403
    assert "text/html" in response["Content-Type"]


def test_the_session_page_never_renders_the_secret_key(operator_client, instance):
    response = operator_client.get("/system/whatsapp/instances/main/")
    assert response.status_code == 200
    assert "stored-secret-key" not in response.content.decode()
    assert instance.secret_key_encrypted not in response.content.decode()


def test_saving_settings_with_an_empty_secret_keeps_the_stored_one(operator_client, instance):
    response = operator_client.post(
        "/system/whatsapp/instances/main/", settings_data(cap_per_minute="5")
    )
    assert response.status_code == 302
    instance.refresh_from_db()
    assert instance.cap_per_minute == 5
    assert instance.secret_key == "stored-secret-key"


def test_saving_settings_with_a_new_secret_replaces_it(operator_client, instance):
    operator_client.post("/system/whatsapp/instances/main/", settings_data(secret_key="new-one"))
    instance.refresh_from_db()
    assert instance.secret_key == "new-one"


def test_bad_settings_come_back_with_messages_beside_the_fields(operator_client, instance):
    data = settings_data(session_name="bad name!", min_gap_seconds="9", max_gap_seconds="2")
    response = operator_client.post("/system/whatsapp/instances/main/", data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "session_name" in errors and "max_gap_seconds" in errors
    body = response.content.decode()
    assert 'class="field has-error"' in body
    instance.refresh_from_db()
    assert instance.session_name == "main"


def test_send_test_answers_422_with_field_errors(operator_client, instance):
    response = operator_client.post(
        "/system/whatsapp/send-test/",
        {"phone": "12", "message": ""},
        content_type="application/json",
    )
    assert response.status_code == 422
    body = response.json()
    assert body["success"] is False and body["code"] == "invalid"
    assert set(body["errors"]) == {"phone", "message"}


def test_send_test_queues_the_message_and_gives_its_status_url(operator_client, instance):
    response = operator_client.post(
        "/system/whatsapp/send-test/",
        {"phone": "+55 21 99999-1234", "message": "Olá"},
        content_type="application/json",
    )
    assert response.status_code == 202
    body = response.json()
    assert body["message"]["status"] == "queued"
    assert body["message"]["to"] == "5521999991234"
    status = operator_client.get(body["status_url"]).json()
    assert status["message"]["id"] == body["message"]["id"]
    assert OutboundMessage.objects.get().enqueued_by == "operador"


def test_send_test_needs_the_csrf_token(client, operator, instance):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(operator)
    response = strict.post(
        "/system/whatsapp/send-test/", {"phone": "x"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"


def make_message(instance, status, recipient="5521999990001", **fields):
    return OutboundMessage.objects.create(
        instance=instance, recipient=recipient, body="oi", status=status, **fields
    )


def test_the_messages_page_filters_by_status_recipient_and_time(operator_client, instance):
    queued = make_message(instance, MessageStatus.QUEUED)
    make_message(instance, MessageStatus.FAILED, recipient="5511988887777")
    old = make_message(instance, MessageStatus.QUEUED)
    OutboundMessage.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))

    def shown(query):
        page = operator_client.get(f"/system/whatsapp/messages/?{query}").context["page_obj"]
        return {m.pk for m in page.object_list}

    assert len(shown("")) == 3
    assert shown("status=queued&period=24h") == {queued.pk}
    assert len(shown("recipient=98888")) == 1


def test_cancel_and_requeue_follow_the_allowed_statuses(operator_client, instance):
    message = make_message(instance, MessageStatus.QUEUED)
    operator_client.post(f"/system/whatsapp/messages/{message.pk}/cancel/")
    message.refresh_from_db()
    assert message.status == MessageStatus.CANCELLED
    response = operator_client.post(f"/system/whatsapp/messages/{message.pk}/cancel/", follow=True)
    notes = [str(m) for m in response.context["messages"]]
    assert any("cancel" in n.lower() for n in notes)
    operator_client.post(f"/system/whatsapp/messages/{message.pk}/requeue/")
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED


def test_health_uptime_is_time_weighted_from_samples(operator_client, instance, whatsapp_conf):
    whatsapp_conf.HEALTH_INTERVAL = 30
    now = timezone.now()
    # 60 samples 30 s apart over the last 30 minutes: the first 45 connected, the last 15 not.
    for n in range(60):
        HealthSample.objects.create(
            instance=instance,
            at=now - timedelta(seconds=30 * (60 - n)),
            status="CONNECTED" if n < 45 else "CLOSED",
            connected=n < 45,
            transition="disconnected" if n == 45 else "",
        )
    response = operator_client.get("/system/whatsapp/health/")
    assert response.status_code == 200
    assert response.context["uptime_24h"].percent == pytest.approx(75.0, abs=1.5)
    assert response.context["counts_24h"]["disconnections"] == 1
    body = response.content.decode()
    assert "<svg" in body and 'data-state="down"' in body


def test_uptime_says_over_what_span_it_was_measured(operator_client, instance, whatsapp_conf):
    whatsapp_conf.HEALTH_INTERVAL = 30
    now = timezone.now()
    # Two minutes of samples: a percentage, but not one "over 24 hours".
    for n in range(5):
        HealthSample.objects.create(
            instance=instance,
            at=now - timedelta(seconds=30 * (4 - n)),
            status="CONNECTED",
            connected=n != 2,
        )
    response = operator_client.get("/system/whatsapp/health/", HTTP_ACCEPT_LANGUAGE="en")
    body = response.content.decode()
    assert 'data-uptime-span="24h">measured over 2 minutes of samples in the last 24 hours' in body
    response = operator_client.get("/system/whatsapp/health/", HTTP_ACCEPT_LANGUAGE="pt-br")
    assert "medido em 2 minutos de amostras das últimas 24 horas" in response.content.decode()


def test_the_health_chart_counts_messages_per_day(operator_client, instance):
    make_message(instance, MessageStatus.SENT, sent_at=timezone.now())
    make_message(instance, MessageStatus.FAILED, failed_at=timezone.now())
    response = operator_client.get("/system/whatsapp/health/")
    assert response.context["totals"] == {"sent": 1, "delivered": 0, "failed": 1}
