"""manage.py whatsapp_webhook: add (id and secret once), list, remove, test; bad input exits 2
naming the problem and changes nothing."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from whatsapp.models import AuditEntry, WebhookDelivery, WebhookEndpoint
from whatsapp.models.audit import AuditAction

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("whatsapp_webhook", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_add_prints_the_id_and_the_secret_once(make_instance):
    make_instance("main")
    out, err = run(
        "add", "https://app.example.com/hook", "--events", "message.status,session.status",
        "--instance", "main",
    )  # fmt: skip
    lines = dict(line.split(": ", 1) for line in out.strip().splitlines())
    row = WebhookEndpoint.objects.get()
    assert lines["id"] == str(row.pk)
    assert lines["secret"].startswith("whsec_") and row.secret == lines["secret"]
    assert "not shown again" in err
    assert row.event_types == ["message.status", "session.status"]
    assert row.instance is not None and row.instance.slug == "main"
    entry = AuditEntry.objects.get(action=AuditAction.WEBHOOK_CREATE)
    assert entry.actor.startswith("command:") and lines["secret"] not in json.dumps(entry.changes)
    listed, _ = run("list")
    assert str(row.pk) in listed and "whsec_" not in listed


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["add", "ftp://app.example.com/"], "URL:"),
        (["add", "not a url"], "URL:"),
        (["add", "https://a.example/\x00"], "URL:"),
        (["add", "https://a.example/" + "a" * 3000], "URL:"),
        (["add", "https://a.example/", "--events", "message.sent"], "--events:"),
        (["add", "https://a.example/", "--instance", "nowhere"], "--instance:"),
        (["add", "https://a.example/", "--description", "\udcff"], "--description:"),
        (["remove", "not-an-id"], "No webhook endpoint"),
        (["remove", "6f1c2d3e-0000-4000-8000-000000000000"], "No webhook endpoint"),
        (["test", "42"], "No webhook endpoint"),
    ],
)
def test_bad_input_exits_2_naming_the_problem_and_changes_nothing(make_instance, args, reason):
    make_instance("main")
    with pytest.raises(CommandError) as caught:
        run(*args)
    assert caught.value.returncode == 2
    assert reason in str(caught.value)
    assert not WebhookEndpoint.objects.exists() and not AuditEntry.objects.exists()


def test_test_queues_an_event_and_remove_deletes(db, rung):
    out, _ = run("add", "https://app.example.com/hook")
    endpoint_id = out.splitlines()[0].removeprefix("id: ")
    queued, _ = run("test", endpoint_id)
    delivery = WebhookDelivery.objects.get()
    assert delivery.event_id in queued and delivery.event_type == "webhook.test"
    run("remove", endpoint_id)
    assert not WebhookEndpoint.objects.exists()
    assert AuditEntry.objects.filter(action=AuditAction.WEBHOOK_DELETE).count() == 1


def test_a_key_rotation_re_encrypts_the_signing_secrets(whatsapp_conf, monkeypatch):
    from whatsapp import audit
    from whatsapp.services import webhook_endpoints

    whatsapp_conf.ENCRYPTION_KEY = "the-old-passphrase"
    _row, secret = webhook_endpoints.create(audit.PYTHON, url="https://app.example.com/hook")
    whatsapp_conf.ENCRYPTION_KEY = "the-new-passphrase"
    monkeypatch.setenv("WHATSAPP_OLD_ENCRYPTION_KEY", "the-old-passphrase")
    call_command("whatsapp_rotate_key", stdout=StringIO())
    assert WebhookEndpoint.objects.get().secret == secret
