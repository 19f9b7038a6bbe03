"""Audit entries for each action; revocation is one-way; audit entries leave with retention."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from whatsapp import api
from whatsapp.models import ApiKey, AuditEntry, OutboundMessage
from whatsapp.services import pruning

pytestmark = pytest.mark.django_db


def actions() -> list[tuple[str, str]]:
    return list(AuditEntry.objects.order_by("at", "pk").values_list("action", "actor"))


def test_session_operations_are_audited_with_who_and_from_where(
    operator_client, gateway_instance, rung
):
    operator_client.post("/system/whatsapp/instances/main/start/", REMOTE_ADDR="203.0.113.7")
    operator_client.post("/system/whatsapp/instances/main/close/")
    operator_client.post("/system/whatsapp/instances/main/logout/")
    operator_client.post("/system/whatsapp/instances/main/refresh/")  # not an audited action
    assert actions() == [
        ("session.start", "operador"),
        ("session.close", "operador"),
        ("session.logout", "operador"),
    ]
    start = AuditEntry.objects.get(action="session.start")
    assert start.address == "203.0.113.7" and start.instance == gateway_instance
    assert start.user.username == "operador"


def test_api_keys_are_named_in_their_entries(client, gateway_instance, rung):
    row, key = ApiKey.create("crm", scopes=["send", "read", "cancel", "sessions"])
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    sent = client.post(
        "/api/v1/messages",
        data=json.dumps({"to": "+55 21 99999-0001", "text": "hi"}),
        content_type="application/json",
        **headers,
    ).json()
    client.post(f"/api/v1/messages/{sent['id']}/cancel", **headers)
    client.post("/api/v1/instances/main/start", **headers)
    assert actions() == [("message.cancel", "api:crm"), ("session.start", "api:crm")]
    assert AuditEntry.objects.filter(api_key=row).count() == 2
    assert str(AuditEntry.objects.get(action="message.cancel").message_id) == sent["id"]


def test_cancels_requeues_and_resolves_from_the_dashboard_are_audited(
    operator_client, gateway_instance, rung
):
    message = api.send_text("+55 21 99999-0001", "x")
    operator_client.post(f"/system/whatsapp/messages/{message.pk}/cancel/")
    operator_client.post(f"/system/whatsapp/messages/{message.pk}/requeue/")
    OutboundMessage.objects.filter(pk=message.pk).update(
        status="unknown", needs_review_since=timezone.now()
    )
    operator_client.post(f"/system/whatsapp/messages/{message.pk}/resolve/", {"resolution": "sent"})
    assert actions() == [
        ("message.cancel", "operador"),
        ("message.requeue", "operador"),
        ("message.resolve", "operador"),
    ]


def test_key_creation_and_revocation_by_command_are_audited(db):
    call_command("whatsapp_apikey", "create", "crm")
    call_command("whatsapp_apikey", "revoke", "crm")
    entries = actions()
    assert [action for action, _who in entries] == ["apikey.create", "apikey.revoke"]
    assert all(who.startswith("command:") for _action, who in entries)


def test_revocation_is_one_way_in_the_admin(client, admin_user):
    row, _key = ApiKey.create("crm")
    client.force_login(admin_user)
    url = f"/admin/whatsapp/apikey/{row.pk}/change/"
    client.post("/admin/whatsapp/apikey/", {"action": "revoke", "_selected_action": [row.pk]})
    row.refresh_from_db()
    revoked = row.revoked_at
    assert revoked is not None
    page = client.get(url).content.decode()
    assert 'name="revoked_at"' not in page
    client.post(url, {"scopes": ["send"], "revoked_at": "", "rate_limit": "", "rate_burst": ""})
    row.refresh_from_db()
    assert row.revoked_at == revoked and row.scopes == ["send"]
    assert [a for a, _who in actions()] == ["apikey.revoke", "apikey.change"]
    assert client.post(f"/admin/whatsapp/apikey/{row.pk}/delete/").status_code == 403


def test_instance_settings_changes_in_the_admin_are_audited_without_the_secret(
    client, admin_user, gateway_instance
):
    client.force_login(admin_user)
    client.post(
        f"/admin/whatsapp/instance/{gateway_instance.pk}/change/",
        {
            "name": "Main",
            "slug": "main",
            "gateway_url": "http://127.0.0.1:9",
            "secret_key": "a-brand-new-secret",
            "session_name": "main",
            "enabled": "on",
            "auto_reconnect": "on",
            "min_gap_seconds": "3",
            "max_gap_seconds": "8",
            "cap_per_minute": "5",
            "cap_per_hour": "200",
            "cap_per_day": "1000",
            "is_default": "on",
        },
    )
    entry = AuditEntry.objects.get(action="instance.change")
    assert entry.changes == {"secret_key": "changed", "cap_per_minute": [8, 5]}
    assert entry.actor == "chefe"


def test_the_audit_admin_filters_by_action_and_kind_of_actor(client, admin_user, rung):
    call_command("whatsapp_apikey", "create", "crm")
    client.force_login(admin_user)
    listed = client.get("/admin/whatsapp/auditentry/?action=apikey.create&by=other")
    assert [e.action for e in listed.context["cl"].result_list] == ["apikey.create"]
    assert client.get("/admin/whatsapp/auditentry/?by=user").context["cl"].result_count == 0


def test_audit_entries_are_pruned_after_their_retention(db, whatsapp_conf):
    whatsapp_conf.AUDIT_RETENTION_DAYS = 30
    call_command("whatsapp_apikey", "create", "old")
    call_command("whatsapp_apikey", "create", "new")
    AuditEntry.objects.filter(target__startswith="old").update(
        at=timezone.now() - timedelta(days=31)
    )
    assert pruning.prune()["audit"] == 1
    assert [e.target.split(" ")[0] for e in AuditEntry.objects.all()] == ["new"]
