"""The dashboard under a host's prefix: every link and every URL its scripts call is reversed on
the server, so nothing leaves `/ops/`."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login
from whatsapp.models import OutboundMessage

pytestmark = [
    pytest.mark.browser,
    pytest.mark.live,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def instance(live, sim, make_instance, operator, settings):
    settings.ROOT_URLCONF = "tests.prefix_urls"
    return make_instance(min_gap_seconds=0, max_gap_seconds=0)


def app_paths(requests_seen) -> list[str]:
    """Paths the pages asked for, except the host's own and static files."""
    paths = [urlsplit(u).path for u in requests_seen.urls if u.startswith(requests_seen.base)]
    host = ("/accounts/", "/i18n/", "/static/", "/favicon.ico", "/admin/")
    return [p for p in paths if p != "/" and not p.startswith(host)]


def test_the_whole_dashboard_works_under_a_prefix(page, sim, instance, requests_seen):
    OutboundMessage.objects.create(instance=instance, recipient="5521911110001", body="x")
    login(page, next_url="/ops/system/whatsapp/")
    expect(page.locator("[data-qr-img]")).to_be_visible()
    sim.scan(instance.session_name)
    expect(page.locator("#session-info")).to_be_visible()

    page.fill("#test-phone", "+55 21 98888-7777")
    page.click('#test-message button[type="submit"]')
    expect(page.locator("[data-test-badge]")).to_be_visible()

    page.click('nav a[href$="/messages/"]')
    expect(page.locator("[data-message]").first).to_be_visible()
    # One poll of the rows (every 15 s once the messages have settled).
    for _ in range(40):
        if any("/rows/" in u for u in requests_seen.urls):
            break
        page.wait_for_timeout(500)
    page.click('nav a[href$="/health/"]')
    expect(page.locator(".timeline").first).to_be_visible()

    paths = app_paths(requests_seen)
    assert any("/status/" in p for p in paths) and any("/rows/" in p for p in paths), paths
    assert [p for p in paths if not p.startswith("/ops/")] == []
