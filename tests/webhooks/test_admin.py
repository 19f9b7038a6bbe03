"""The admin manages endpoints through the shared service: the secret shows once, when made,
never on a page after; a user limited to some instances sees only their endpoints."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from whatsapp import audit
from whatsapp.models import AuditEntry, WebhookDelivery, WebhookEndpoint
from whatsapp.models.audit import AuditAction
from whatsapp.services import webhook_endpoints

pytestmark = pytest.mark.django_db
ADD = "/admin/whatsapp/webhookendpoint/add/"
LIST = "/admin/whatsapp/webhookendpoint/"


def test_adding_in_the_admin_shows_the_secret_once_and_audits(admin_client, make_instance):
    main = make_instance("main")
    answer = admin_client.post(
        ADD,
        {"url": "https://app.example.com/hook", "description": "", "instance": main.pk,
         "events": ["message.status"]},
        follow=True,
    )  # fmt: skip
    assert answer.status_code == 200
    row = WebhookEndpoint.objects.get()
    assert row.event_types == ["message.status"] and row.instance == main
    page = answer.content.decode()
    assert row.secret in page  # once, right after it was made
    assert AuditEntry.objects.filter(action=AuditAction.WEBHOOK_CREATE).count() == 1
    change = admin_client.get(f"{LIST}{row.pk}/change/").content.decode()
    assert row.secret not in change and row.secret_encrypted not in change
    assert row.secret not in admin_client.get(LIST).content.decode()


def test_a_url_that_is_not_http_is_refused_in_the_admin(admin_client):
    answer = admin_client.post(ADD, {"url": "ftp://app.example.com/", "description": ""})
    assert answer.status_code == 200 and "http://" in answer.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_actions_disable_rotate_and_test_through_the_service(admin_client, rung):
    row, secret = webhook_endpoints.create(audit.PYTHON, url="https://app.example.com/hook")
    admin_client.post(LIST, {"action": "rotate", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert row.secret != secret
    admin_client.post(LIST, {"action": "send_test", "_selected_action": [row.pk]})
    assert WebhookDelivery.objects.filter(event_type="webhook.test").count() == 1
    admin_client.post(LIST, {"action": "disable", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert not row.enabled and row.disabled_at is not None


def test_a_user_limited_to_an_instance_sees_only_its_endpoints(
    client, make_instance, django_user_model
):
    main = make_instance("main")
    make_instance("other", default=False)
    user = django_user_model.objects.create_user("ana", password="pw-123-secret", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_webhookendpoint"))
    main.operators.add(user)
    webhook_endpoints.create(audit.PYTHON, url="https://mine.example/", instance="main")
    webhook_endpoints.create(audit.PYTHON, url="https://theirs.example/", instance="other")
    webhook_endpoints.create(audit.PYTHON, url="https://everyone.example/")
    client.force_login(user)
    page = client.get(LIST).content.decode()
    assert "mine.example" in page
    assert "theirs.example" not in page and "everyone.example" not in page
