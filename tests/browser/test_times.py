"""One rule for times: the reader's zone (the browser's), the page's language, the zone named."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, WAIT_MS
from whatsapp.models import HealthSample, Instance, OutboundMessage

pytestmark = [
    pytest.mark.browser,
    pytest.mark.live,
    pytest.mark.django_db(transaction=True),
]

# 19:26 UTC on 30 November is 04:26 on 1 December in Tokyo, 16:26 on the 30th on the server
# (America/Sao_Paulo): a page in the wrong zone shows another day.
AT = datetime(2026, 11, 30, 19, 26, tzinfo=UTC)
EXPECTED = {"en-US": "12/1/26, 4:26 AM", "pt-BR": "01/12/2026, 04:26"}


@pytest.fixture
def instance(live, sim, make_instance, operator):
    # Off, so nothing refreshes the stored state behind the test; shown as connected since AT.
    instance = make_instance(enabled=False)
    Instance.objects.filter(pk=instance.pk).update(
        status="CONNECTED", connected=True, connected_since=AT, phone="5521999990000"
    )
    message = OutboundMessage.objects.create(
        instance=instance, recipient="5521988887777", body="hora certa"
    )
    OutboundMessage.objects.filter(pk=message.pk).update(created_at=AT)
    HealthSample.objects.create(
        instance=instance, at=AT, status="CONNECTED", connected=True, transition="connected"
    )
    return instance


def text(locator) -> str:
    # ICU puts a narrow no-break space before AM/PM.
    return " ".join(locator.inner_text().replace("\u202f", " ").replace("\xa0", " ").split())


@pytest.mark.parametrize("locale", ["en-US", "pt-BR"])
def test_every_page_shows_a_time_in_the_readers_zone_and_language(
    browser, live_server, instance, locale
):
    context = browser.new_context(base_url=live_server.url, locale=locale, timezone_id="Asia/Tokyo")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    expect.set_options(timeout=WAIT_MS)
    try:
        page.goto("/accounts/login/")
        page.fill("#id_username", "operador")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()

        since = page.locator('[data-info="since"]')
        expect(since).not_to_have_text("—")
        shown = {"session": text(since)}

        page.goto("/system/whatsapp/messages/")
        shown["messages"] = text(page.locator("[data-message] .message-head time"))

        page.goto("/system/whatsapp/health/")
        shown["health"] = text(page.locator("table.mt-4 tbody tr td time").first)

        assert shown == dict.fromkeys(shown, EXPECTED[locale]), shown
        # The zone is named, once per page.
        expect(page.locator("[data-zone-note]")).to_contain_text("Asia/Tokyo")
        expect(page.locator("[data-zone-note]")).to_contain_text("GMT+9")
        # A hover shows the seconds and the zone.
        title = page.locator("table.mt-4 tbody tr td time").first.get_attribute("title")
        assert "Asia/Tokyo" in title
    finally:
        context.close()
