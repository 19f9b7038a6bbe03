"""No dead ends on the way to a connected number: QR to pairing code and back, a visible way in
after a close, and error banners that leave once their state has passed."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, mark_loaded, still_same_page
from whatsapp.models import Instance
from whatsapp.models.operation import OperationKind
from whatsapp.services.operations import request_operation

pytestmark = [
    pytest.mark.browser,
    pytest.mark.live,
    pytest.mark.django_db(transaction=True),
]

QR = '[data-block="qr"]'
FORM = '[data-block="pairing-form"]'
CODE = "[data-pairing-code]"
SWITCH = 40_000  # the gateway's code lapses first (auto_close below), then the other starts

WATCH_BOTH = """() => {
    window.__both = false;
    const both = () => {
        const qr = document.querySelector('[data-block="qr"]');
        const form = document.querySelector('[data-block="pairing-form"]');
        if (!qr.hidden && !form.hidden) window.__both = true;
    };
    new MutationObserver(both).observe(document.body, {subtree: true, attributes: true});
}"""


@pytest.fixture
def instance(live, sim, make_instance, operator):
    # A QR or pairing code lapses after 6 s on this gateway, as autoClose does on a real one.
    sim.settings(auto_close=6)
    return make_instance(min_gap_seconds=0, max_gap_seconds=0)


def test_from_the_qr_a_pairing_code_can_be_chosen_and_back(page, sim, instance):
    login(page)
    expect(page.locator(QR)).to_be_visible()
    page.evaluate(WATCH_BOTH)
    mark_loaded(page)

    page.click('[data-action="use-pairing"]')
    # The form replaces the QR, and says what happens to the QR still on the gateway.
    expect(page.locator(FORM)).to_be_visible()
    expect(page.locator(QR)).to_be_hidden()
    expect(page.locator("[data-switch-hint]")).to_be_visible()
    page.fill("#pairing-phone", "+55 21 99876-5432")
    page.locator(FORM).locator("button[type=submit]").click()

    progress = page.locator('[data-block="progress"]')
    expect(progress).to_contain_text("descartar o QR code")
    expect(page.locator(CODE)).to_have_text(
        re.compile(r"^[A-Z0-9]{4}-?[A-Z0-9]{4}$"), timeout=SWITCH
    )
    expect(page.locator("[data-error]")).to_be_hidden()
    instance.refresh_from_db()
    assert instance.pairing_code and instance.pairing_code in page.locator(CODE).inner_text()

    # And back: from the pairing code to a QR, with one click.
    page.click('[data-action="use-qr"]')
    expect(progress).to_contain_text("descartar o código de pareamento")
    expect(page.locator(QR)).to_be_visible(timeout=SWITCH)
    expect(page.locator('[data-block="pairing"]')).to_be_hidden()

    assert page.evaluate("window.__both") is False, "the QR and the pairing form showed at once"
    assert still_same_page(page)


def test_after_a_close_there_is_a_connect_button_and_the_pairing_path(page, sim, instance):
    login(page)
    expect(page.locator("[data-qr-img]")).to_be_visible()
    sim.scan(instance.session_name)
    expect(page.locator("#session-info")).to_be_visible()

    page.click('#actions [data-action="close"]')
    page.click("[data-confirm-ok]")

    connect = page.locator('[data-action="start"]')
    expect(connect).to_be_visible()
    expect(connect).to_have_text("Conectar com QR code")
    expect(page.locator('[data-action="use-pairing"]')).to_be_visible()
    connect.click()
    # The login survived the close: it reconnects without a QR.
    expect(page.locator("#session-info")).to_be_visible()


def test_a_qr_that_lapsed_leaves_a_connect_button(page, sim, instance):
    login(page)
    expect(page.locator(QR)).to_be_visible()
    # Nobody scans: the gateway drops the QR by itself.
    expect(page.locator('[data-action="start"]')).to_be_visible(timeout=SWITCH)
    expect(page.locator(QR)).to_be_hidden()
    expect(page.locator('[data-action="use-pairing"]')).to_be_visible()
    page.click('[data-action="start"]')
    expect(page.locator(QR)).to_be_visible()


def test_an_error_banner_leaves_when_the_state_it_was_about_has_changed(page, sim, instance):
    sim.settings(auto_close=60)  # the QR must outlive the page's slow poll
    sim.set_fault("start-session", error_rate=1.0, error_status=500)
    login(page)
    error = page.locator("[data-error]")
    expect(error).to_be_visible()

    # Started from elsewhere (another tab, a colleague): this page's old error no longer applies.
    sim.clear_faults()
    request_operation(Instance.objects.get(pk=instance.pk), OperationKind.START)

    expect(page.locator(QR)).to_be_visible(timeout=SWITCH)
    expect(error).to_be_hidden()


def test_on_a_phone_the_confirm_dialog_keeps_a_margin(browser, live_server, sim, instance):
    context = browser.new_context(
        base_url=live_server.url, locale="pt-BR", viewport={"width": 375, "height": 740}
    )
    page = context.new_page()
    try:
        login(page)
        expect(page.locator("[data-qr-img]")).to_be_visible()
        sim.scan(instance.session_name)
        expect(page.locator("#session-info")).to_be_visible()
        page.click('#actions [data-action="close"]')
        dialog = page.locator("dialog[data-confirm]")
        expect(dialog).to_be_visible()
        box = dialog.bounding_box()
        assert box["x"] >= 12 and box["x"] + box["width"] <= 375 - 12, box
        # Its buttons fit inside it.
        for button in dialog.locator("button").all():
            inner = button.bounding_box()
            assert inner["x"] >= box["x"] and inner["x"] + inner["width"] <= box["x"] + box["width"]
    finally:
        context.close()
