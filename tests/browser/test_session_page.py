"""The session page in a real browser against the real stack (workers, Redis, simulator)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, mark_loaded, still_same_page
from whatsapp.models import Instance

pytestmark = [
    pytest.mark.browser,
    pytest.mark.live,
    pytest.mark.django_db(transaction=True),
]

CONNECT = "#connect"
INFO = "#session-info"
QR_IMG = "[data-qr-img]"


@pytest.fixture
def instance(live, sim, make_instance, operator):
    return make_instance(min_gap_seconds=0, max_gap_seconds=0)


def open_connected(page, sim, instance):
    login(page)
    expect(page.locator(QR_IMG)).to_be_visible()
    sim.scan(instance.session_name)
    expect(page.locator(INFO)).to_be_visible()


def test_signing_in_lands_on_the_session_page(page, instance):
    login(page)
    assert page.url.endswith("/system/whatsapp/")
    expect(page.locator("h1")).to_have_text(instance.name)
    expect(page.locator("#actions")).to_be_visible()


def test_a_wrong_password_says_so_on_the_login_page(page, instance):
    login(page, password="wrong")
    assert "/accounts/login/" in page.url
    expect(page.locator(".alert-error")).to_be_visible()


def test_the_qr_appears_by_itself_and_a_scan_shows_the_session_without_a_reload(
    page, sim, instance
):
    login(page)
    mark_loaded(page)
    # No click: the page starts the closed session itself and shows the QR with its countdown.
    expect(page.locator(QR_IMG)).to_be_visible()
    assert page.locator(QR_IMG).get_attribute("src").startswith("data:image/png;base64,")
    expect(page.locator("[data-qr-countdown]")).to_contain_text("s")
    expect(page.locator(INFO)).to_be_hidden()

    sim.scan(instance.session_name)

    expect(page.locator(INFO)).to_be_visible()
    expect(page.locator(CONNECT)).to_be_hidden()
    expect(page.locator("[data-status-badge]")).to_have_attribute("data-tone", "ok")
    expect(page.locator('[data-info="since"]')).not_to_have_text("—")
    assert still_same_page(page), "the page reloaded itself"


def test_logging_out_brings_the_qr_back(page, sim, instance):
    open_connected(page, sim, instance)
    mark_loaded(page)
    first_qr = page.locator(QR_IMG).get_attribute("src")

    page.click('[data-action="logout"]')
    expect(page.locator("dialog[data-confirm]")).to_be_visible()
    page.click("[data-confirm-ok]")

    expect(page.locator(INFO)).to_be_hidden()
    expect(page.locator(CONNECT)).to_be_visible()
    expect(page.locator(QR_IMG)).to_be_visible()
    expect(page.locator(QR_IMG)).not_to_have_attribute("src", first_qr)
    assert still_same_page(page)
    instance.refresh_from_db()
    assert not instance.connected


def test_the_pairing_code_path_asks_for_the_phone_and_shows_the_code(page, sim, instance):
    # A person who chose the code once keeps it: the page then waits for the phone.
    page.add_init_script("localStorage.setItem('leguas.whatsapp.connectMethod', 'code')")
    login(page)
    form = page.locator('[data-block="pairing-form"]')
    expect(form).to_be_visible()
    expect(page.locator(QR_IMG)).to_be_hidden()

    form.locator("button[type=submit]").click()
    expect(form.locator('[data-field-error="phone"]')).to_be_visible()

    page.fill("#pairing-phone", "+55 21 99876-5432")
    form.locator("button[type=submit]").click()

    code = page.locator("[data-pairing-code]")
    expect(code).to_have_text(re.compile(r"^[A-Z0-9]{4}-?[A-Z0-9]{4}$"))
    instance.refresh_from_db()
    assert instance.pairing_code and instance.pairing_code in code.inner_text()


def test_a_disabled_instance_says_so_and_starts_nothing(page, sim, instance):
    Instance.objects.filter(pk=instance.pk).update(enabled=False)
    login(page)
    expect(page.locator('[data-block="disabled"]')).to_be_visible()
    expect(page.locator('[data-action="start"]')).to_be_hidden()


def test_a_test_message_moves_to_sent_and_read_on_the_page(page, sim, instance):
    sim.set_acks(delivered_after=3.0, read_after=6.0)
    open_connected(page, sim, instance)
    # Record every status the badge shows, however briefly.
    page.evaluate(
        """() => {
        window.__statuses = [];
        const badge = document.querySelector('[data-test-badge]');
        new MutationObserver(() => window.__statuses.push(badge.dataset.status))
          .observe(badge, {attributes: true, attributeFilter: ['data-status']});
    }"""
    )
    mark_loaded(page)
    page.fill("#test-phone", "12")
    page.click('#test-message button[type="submit"]')
    expect(page.locator('#test-message [data-field-error="phone"]')).to_be_visible()

    page.fill("#test-phone", "+55 21 98888-7777")
    page.fill("#test-text", "Olá do teste")
    page.click('#test-message button[type="submit"]')

    badge = page.locator("[data-test-badge]")
    expect(badge).to_have_attribute("data-status", "read", timeout=40_000)
    seen = page.evaluate("window.__statuses")
    assert "sent" in seen, seen
    expect(page.locator('[data-test-time="read_at"]')).not_to_have_text("—")
    assert still_same_page(page)
    assert sim.ledger(phone="5521988887777")


def test_a_gateway_500_shows_the_gateways_message_and_status(page, sim, instance):
    sim.set_fault("start-session", error_rate=1.0, error_status=500)
    login(page)
    error = page.locator("[data-error]")
    expect(error).to_be_visible()
    expect(error).to_contain_text("500")
    expect(error).to_contain_text("Error starting session")
    # A failed start is not retried behind the person's back: no loop of starts.
    page.wait_for_timeout(3000)
    assert sim.calls(instance.session_name).get("start-session", 0) == 1


def test_an_endpoint_error_shows_the_servers_reason_without_http_codes(page, sim, instance):
    open_connected(page, sim, instance)
    # Turned off behind the page's back: the next action answers 409 with the reason.
    Instance.objects.filter(pk=instance.pk).update(enabled=False)
    page.click('#actions [data-action="refresh"]')
    error = page.locator("[data-error]")
    expect(error).to_contain_text("desativada")
    # The status code is for developers (the console), not for the people at the dashboard.
    assert "409" not in error.inner_text() and "HTTP" not in error.inner_text()


def test_a_test_message_sends_an_attachment_then_a_location(page, sim, instance, tmp_path):
    open_connected(page, sim, instance)
    mark_loaded(page)
    invoice = tmp_path / "nota.pdf"
    invoice.write_bytes(b"%PDF-1.4\n" + b"0" * 2000 + b"\n%%EOF\n")
    page.fill("#test-phone", "+55 21 98888-7777")
    page.check('#test-message input[name="type"][value="file"]')
    expect(page.locator("#test-file")).to_be_visible()
    expect(page.locator("#test-latitude")).to_be_hidden()
    page.set_input_files("#test-file", str(invoice))
    page.fill("#test-text", "Sua nota")
    page.click('#test-message button[type="submit"]')
    badge = page.locator("[data-test-badge]")
    expect(badge).to_have_attribute(
        "data-status", re.compile("sent|delivered|read"), timeout=40_000
    )
    [sent] = sim.ledger(message="Sua nota")
    assert (sent["route"], sent["filename"], sent["size"]) == ("send-file-base64", "nota.pdf", 2016)

    page.check('#test-message input[name="type"][value="location"]')
    expect(page.locator("#test-file")).to_be_hidden()
    page.fill("#test-latitude", "-22,9068")
    page.fill("#test-longitude", "-43.1729")
    page.fill("#test-place", "Depósito")
    page.click('#test-message button[type="submit"]')
    expect(page.locator('#test-message [data-field-error="latitude"]')).to_be_hidden()
    page.wait_for_function("() => document.querySelectorAll('[data-test-badge]').length === 1")
    from tests.live import wait_until

    assert wait_until(lambda: any(e["type"] == "location" for e in sim.ledger()), timeout=30)
    location = next(e for e in sim.ledger() if e["type"] == "location")
    assert (location["lat"], location["lng"]) == (-22.9068, -43.1729)
    assert still_same_page(page)
