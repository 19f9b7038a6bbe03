from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from whatsapp.models import Instance

pytestmark = pytest.mark.django_db


def test_bootstrap_creates_the_default_instance_once(whatsapp_conf, capsys):
    whatsapp_conf.GATEWAY_URL = "http://gateway:21465"
    whatsapp_conf.GATEWAY_SECRET_KEY = "bootstrap-secret-value"
    whatsapp_conf.SESSION_NAME = "leguas"
    call_command("whatsapp_bootstrap")
    call_command("whatsapp_bootstrap")
    out = capsys.readouterr().out
    assert "Created" in out and "up to date" in out
    assert "bootstrap-secret-value" not in out
    instance = Instance.objects.get()
    assert instance.is_default and instance.secret_key == "bootstrap-secret-value"
    assert "bootstrap-secret-value" not in instance.secret_key_encrypted


def test_bootstrap_updates_what_changed(whatsapp_conf, capsys):
    whatsapp_conf.GATEWAY_URL = "http://gateway:21465"
    whatsapp_conf.GATEWAY_SECRET_KEY = "one"
    call_command("whatsapp_bootstrap")
    whatsapp_conf.GATEWAY_URL = "http://other:21465"
    whatsapp_conf.GATEWAY_SECRET_KEY = "two"
    call_command("whatsapp_bootstrap")
    assert "gateway_url, secret_key" in capsys.readouterr().out
    assert Instance.objects.get().secret_key == "two"


def test_bootstrap_refuses_a_bad_session_name_with_exit_code_2(whatsapp_conf):
    whatsapp_conf.SESSION_NAME = "bad/name"
    with pytest.raises(CommandError) as info:
        call_command("whatsapp_bootstrap")
    assert info.value.returncode == 2


def test_the_admin_never_shows_the_secret(admin_client, make_instance):
    instance = make_instance()
    page = admin_client.get(f"/admin/whatsapp/instance/{instance.pk}/change/").content.decode()
    assert "product-test-secret" not in page
    assert instance.secret_key_encrypted not in page
    assert "••••••••" in page


def test_the_admin_keeps_the_secret_when_the_field_is_left_empty(admin_client, make_instance):
    instance = make_instance()
    response = admin_client.post(
        f"/admin/whatsapp/instance/{instance.pk}/change/",
        {
            "name": "Main",
            "slug": "main",
            "session_name": instance.session_name,
            "gateway_url": instance.gateway_url,
            "enabled": "on",
            "is_default": "on",
            "auto_reconnect": "on",
            "min_gap_seconds": "3",
            "max_gap_seconds": "8",
            "cap_per_minute": "8",
            "cap_per_hour": "200",
            "cap_per_day": "1000",
            "secret_key": "",
        },
    )
    assert response.status_code == 302
    instance.refresh_from_db()
    assert instance.secret_key == "product-test-secret"
