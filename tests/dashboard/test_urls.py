"""Every URL the dashboard hands its scripts is reversed by name: no path is built from strings,
on the server or in JavaScript."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.urls import reverse

from whatsapp.models import Instance

JS = Path(__file__).resolve().parents[2] / "whatsapp" / "static" / "whatsapp" / "js"


@pytest.fixture
def split(settings):
    settings.ROOT_URLCONF = "tests.split_urls"


@pytest.mark.django_db
def test_the_session_page_hands_its_script_reversed_urls(split, operator_client):
    instance = Instance.objects.create(
        slug="main",
        name="Main",
        session_name="main",
        gateway_url="http://127.0.0.1:21465",
        is_default=True,
    )
    response = operator_client.get(reverse("dashboard-session", args=[instance.slug]))
    assert response.status_code == 200
    html = response.content.decode()
    state = json.loads(re.search(r'id="session-state"[^>]*>(.*?)</script>', html, re.S)[1])
    urls = state["urls"]
    assert urls["page"] == "/ops/system/whatsapp/instances/main/"
    for action in ("start", "logout", "close", "refresh", "status", "qrcode"):
        assert urls[action] == reverse(f"session-{action}", args=["main"])
        assert urls[action].startswith("/gateway-side/"), urls[action]
    assert urls["sendTest"].startswith("/ops/")


@pytest.mark.django_db
def test_the_messages_page_hands_its_script_the_rows_url(split, operator_client):
    from whatsapp.models import OutboundMessage

    instance = Instance.objects.create(
        slug="main", name="Main", session_name="main", gateway_url="http://127.0.0.1:21465"
    )
    OutboundMessage.objects.create(instance=instance, recipient="5521911110001", body="x")
    html = operator_client.get(reverse("dashboard-messages")).content.decode()
    assert 'data-rows-url="/ops/system/whatsapp/messages/rows/"' in html


def test_no_script_builds_a_path_from_a_string():
    for script in JS.glob("*.js"):
        source = script.read_text()
        # A quoted absolute path ("/system/…", `/api/…`) would ignore where the app is mounted.
        assert not re.search(r"[\"'`]/[A-Za-z_]", source), script.name
