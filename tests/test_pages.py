from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_login_page_answers_in_portuguese_by_default(client: Client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert 'lang="pt-br"' in response.content.decode()


def test_the_home_page_needs_a_login(client: Client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_healthz_reports_database_and_cache(client: Client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["checks"]["database"]["ok"] and body["checks"]["cache"]["ok"]


def test_healthz_names_an_unreachable_gateway_and_stays_a_liveness_check(client: Client):
    from django.utils import timezone

    from whatsapp.models import Instance

    since = timezone.now()
    Instance.objects.create(
        slug="main",
        name="Main",
        session_name="main",
        gateway_url="http://127.0.0.1:1",
        gateway_error="refused",
        unreachable_since=since,
    )
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["gateways"]["unreachable"] == [
        {"instance": "main", "reason": "refused", "since": since.isoformat()}
    ]


def test_favicon_is_the_apps_logo(client: Client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"].endswith("/whatsapp/img/logo.svg")


def test_ensure_admin_creates_one_admin_once(capsys, monkeypatch):
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    call_command("ensure_admin")
    first = capsys.readouterr().out
    assert "password:" in first
    call_command("ensure_admin")
    assert "already exists" in capsys.readouterr().out
    assert get_user_model().objects.filter(is_superuser=True).count() == 1
