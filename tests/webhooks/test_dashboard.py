"""The Webhooks page: add (the secret once), disable, enable, rotate, test, recent deliveries,
replay; a page permission; a user limited to some numbers sees only their endpoints."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from whatsapp import audit
from whatsapp.models import AuditEntry, WebhookDelivery, WebhookEndpoint
from whatsapp.models.audit import AuditAction
from whatsapp.models.media import WorkState
from whatsapp.services import webhook_endpoints

pytestmark = pytest.mark.django_db
PAGE = "/system/whatsapp/webhooks/"


def staff(django_user_model, name: str, *codenames: str):
    user = django_user_model.objects.create_user(name, password="pw-123-secret", is_staff=True)
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


@pytest.fixture
def manager(client, django_user_model):
    client.force_login(
        staff(django_user_model, "gestora", "view_webhookendpoint", "change_webhookendpoint")
    )
    return client


def test_the_page_needs_its_permission(client, django_user_model, operator):
    assert client.get(PAGE, HTTP_ACCEPT="text/html").status_code == 302  # to the login page
    client.force_login(operator)  # operates sessions, not webhooks
    assert client.get(PAGE).status_code == 403
    client.force_login(staff(django_user_model, "leitora", "view_webhookendpoint"))
    page = client.get(PAGE)
    assert page.status_code == 200 and "Add an endpoint" not in page.content.decode()
    assert client.post(f"{PAGE}add/", {"url": "https://a.example/"}).status_code == 403
    assert not WebhookEndpoint.objects.exists()


def test_adding_shows_the_secret_once(manager, make_instance):
    make_instance("main")
    answer = manager.post(
        f"{PAGE}add/",
        {"url": "https://app.example.com/hook", "events": ["message.status"], "instance": "main"},
    )
    assert answer.status_code == 200
    row = WebhookEndpoint.objects.get()
    assert row.secret in answer.content.decode()
    assert row.event_types == ["message.status"] and row.instance.slug == "main"
    assert AuditEntry.objects.filter(action=AuditAction.WEBHOOK_CREATE, actor="gestora").exists()
    for url in (PAGE, f"{PAGE}{row.pk}/"):
        assert row.secret not in manager.get(url).content.decode()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"url": "ftp://app.example.com/"}, "http://"),
        ({"url": "https://a.example/", "events": ["message.sent"]}, "message.sent"),
        ({"url": "https://a.example/", "instance": "nowhere"}, "nowhere"),
        ({"url": "https://a.example/\x00"}, 'class="field-error"'),
    ],
)
def test_bad_input_is_shown_on_the_form_and_nothing_is_added(manager, data, reason):
    answer = manager.post(f"{PAGE}add/", data)
    assert answer.status_code == 400 and reason in answer.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_actions_on_an_endpoint(manager, rung):
    row, secret = webhook_endpoints.create(audit.PYTHON, url="https://app.example.com/hook")
    base = f"{PAGE}{row.pk}/"
    manager.post(f"{base}test/")
    delivery = WebhookDelivery.objects.get()
    assert delivery.event_type == "webhook.test"
    rotated = manager.post(f"{base}rotate/")
    row.refresh_from_db()
    assert row.secret != secret and row.secret in rotated.content.decode()
    manager.post(f"{base}disable/")
    row.refresh_from_db()
    assert not row.enabled
    manager.post(f"{base}test/")
    assert WebhookDelivery.objects.count() == 1  # a disabled endpoint gets no test
    manager.post(f"{base}enable/")
    row.refresh_from_db()
    assert row.enabled and row.disabled_at is None
    assert manager.post(f"{base}launch/").status_code == 404
    manager.post(f"{base}delete/")
    assert not WebhookEndpoint.objects.exists()


def test_recent_deliveries_show_their_answer_and_a_finished_one_can_be_replayed(manager, rung):
    row, _ = webhook_endpoints.create(audit.PYTHON, url="https://app.example.com/hook")
    delivery = webhook_endpoints.send_test(row)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        state=WorkState.FAILED, last_status=502, duration_ms=321, response_excerpt="bad gateway"
    )
    page = manager.get(f"{PAGE}{row.pk}/").content.decode()
    for shown in ("webhook.test", "502", "321 ms", "bad gateway", delivery.event_id):
        assert shown in page
    rung.clear()
    manager.post(f"{PAGE}{row.pk}/deliveries/{delivery.pk}/replay/")
    delivery.refresh_from_db()
    assert delivery.state == WorkState.PENDING and delivery.attempts == 0
    assert rung.args_of("whatsapp.webhooks.deliver") == [str(delivery.pk)]


def test_a_user_limited_to_a_number_sees_and_manages_only_its_endpoints(
    client, django_user_model, make_instance
):
    main = make_instance("main")
    make_instance("other", default=False)
    user = staff(django_user_model, "ana", "view_webhookendpoint", "change_webhookendpoint")
    main.operators.add(user)
    client.force_login(user)
    webhook_endpoints.create(audit.PYTHON, url="https://mine.example/", instance="main")
    theirs, _ = webhook_endpoints.create(audit.PYTHON, url="https://theirs.ex/", instance="other")
    page = client.get(PAGE).content.decode()
    assert "mine.example" in page and "theirs.ex" not in page
    assert client.get(f"{PAGE}{theirs.pk}/").status_code == 404
    assert client.post(f"{PAGE}{theirs.pk}/delete/").status_code == 404
    everywhere = client.post(f"{PAGE}add/", {"url": "https://all.example/"})
    assert everywhere.status_code == 400
    assert WebhookEndpoint.objects.count() == 2


def test_the_page_speaks_portuguese(manager):
    manager.cookies["django_language"] = "pt-br"
    page = manager.get(PAGE, HTTP_ACCEPT_LANGUAGE="pt-br").content.decode()
    assert "Adicionar um endpoint" in page
