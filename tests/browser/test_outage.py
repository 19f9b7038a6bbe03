"""A gateway outage as a person sees it: explained in their language, nothing offered that cannot
work, shown as an outage on the health page, and gone by itself when the gateway is back."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import login, mark_loaded, still_same_page
from whatsapp import api
from whatsapp.services.health import record

pytestmark = [
    pytest.mark.browser,
    pytest.mark.live,
    pytest.mark.django_db(transaction=True),
]

OUTAGE = "#outage"
SLOW = 45_000  # the page polls every 15 s when nothing changes


@pytest.fixture
def instance(live, sim, make_instance, operator):
    return make_instance(min_gap_seconds=0, max_gap_seconds=0)


def connected(page, sim, instance):
    login(page)
    expect(page.locator("[data-qr-img]")).to_be_visible()
    sim.scan(instance.session_name)
    expect(page.locator("#session-info")).to_be_visible()


def test_a_refused_gateway_is_explained_and_the_page_recovers_by_itself(
    page, sim, instance, live_server
):
    connected(page, sim, instance)
    mark_loaded(page)
    sim.refuse(300)
    try:
        # Seen by the page's own polling, no click.
        outage = page.locator(OUTAGE)
        expect(outage).to_be_visible(timeout=SLOW)
        badge = page.locator("[data-status-badge]")
        expect(badge).to_have_text("Gateway indisponível")
        expect(badge).to_have_attribute("data-tone", "bad")
        expect(outage).to_contain_text("Não foi possível alcançar o gateway")
        expect(outage).to_contain_text("a conexão foi recusada")
        assert "tempo" not in outage.locator('[data-outage="detail"]').inner_text()
        expect(outage.locator('[data-outage="since"]')).not_to_have_text("—")
        expect(outage.locator('[data-outage="checks"] li').first).to_be_visible()
        expect(outage.locator('[data-outage="checks"] code').first).to_be_visible()

        # Messages queued meanwhile wait, and the page says so.
        for n in range(2):
            api.send_text(f"+55 21 98888-000{n}", "durante a queda", instance=instance.slug)
        expect(outage.locator('[data-outage="waiting"]')).to_contain_text(
            "2 mensagens na fila esperam e serão enviadas", timeout=SLOW
        )

        # Nothing offered that cannot work: no QR, no pairing form, no start, no log out.
        expect(page.locator("#connect")).to_be_hidden()
        expect(page.locator('[data-block="pairing-form"]')).to_be_hidden()
        expect(page.locator('[data-action="start"]')).to_be_hidden()
        expect(page.locator('[data-action="logout"]')).to_be_disabled()
        expect(page.locator('[data-action="close"]')).to_be_disabled()
        expect(page.locator("#session-info")).to_be_hidden()

        # The health page names the outage, and its timeline shows it as one.
        record(instance.pk)
        health = page.context.new_page()
        health.goto(f"/system/whatsapp/instances/{instance.slug}/health/")
        expect(health.locator("[data-current]")).to_contain_text("Gateway indisponível")
        expect(health.locator("[data-current]")).to_contain_text("Conexão recusada")
        expect(health.locator(".timeline rect[data-state='outage']").first).to_be_attached()
        expect(health.locator(OUTAGE)).to_contain_text("a conexão foi recusada")
        health.close()

        # /healthz stays a liveness check, and names the gateway that is out.
        body = requests.get(f"{live_server.url}/healthz", timeout=10)
        assert body.status_code == 200
        assert [g["instance"] for g in body.json()["gateways"]["unreachable"]] == [instance.slug]

        # In English too.
        page.select_option("#language-select", "en")
        page.wait_for_load_state()
        expect(page.locator(OUTAGE)).to_contain_text("The gateway cannot be reached")
        expect(page.locator(OUTAGE)).to_contain_text("the connection was refused")
        expect(page.locator("[data-status-badge]")).to_have_text("Gateway unavailable")
        mark_loaded(page)
    finally:
        sim.come_back()

    # Back by itself: connected again, the outage gone, the queued messages sent.
    expect(page.locator("#session-info")).to_be_visible(timeout=SLOW)
    expect(page.locator(OUTAGE)).to_be_hidden()
    expect(page.locator("[data-status-badge]")).to_have_attribute("data-tone", "ok")
    assert still_same_page(page)
