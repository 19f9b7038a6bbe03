"""The messages page keeps itself current: fast while anything is on its way, slow when settled,
quiet while the tab is hidden, and never offers a cancel the message has outgrown."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import login, mark_loaded, still_same_page
from whatsapp.models import OutboundMessage
from whatsapp.models.message import MessageStatus

pytestmark = [
    pytest.mark.browser,
    pytest.mark.live,
    pytest.mark.django_db(transaction=True),
]

ROWS = "/system/whatsapp/messages/rows/"


@pytest.fixture
def instance(live, sim, make_instance, operator):
    return make_instance(enabled=False)  # nothing is sent behind the test's back


def rows_requests(requests_seen) -> int:
    return sum(1 for url in requests_seen.urls if ROWS in url)


def test_statuses_update_in_place_and_cancel_goes_when_it_no_longer_applies(
    page, instance, requests_seen
):
    message = OutboundMessage.objects.create(
        instance=instance, recipient="5521911110001", body="acompanhe"
    )
    login(page, next_url="/system/whatsapp/messages/")
    row = page.locator(f'[data-message="{message.pk}"]')
    expect(row).to_have_attribute("data-status", "queued")
    expect(row.locator("form[action$='/cancel/']")).to_be_visible()
    row.locator("details").evaluate("d => d.open = true")
    mark_loaded(page)

    # A worker picks it up and sends it: the page follows without a reload.
    now = timezone.now()
    OutboundMessage.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENT, attempts=1, sent_at=now, updated_at=now
    )
    expect(row).to_have_attribute("data-status", "sent", timeout=10_000)
    expect(row.locator(".badge")).to_have_text("Enviada")
    expect(row.locator("form[action$='/cancel/']")).to_have_count(0)
    expect(row.locator("summary")).to_contain_text("1 tentativa")
    expect(row.locator("details")).to_have_attribute("open", "")
    assert still_same_page(page)

    # Settled: the page slows down (one poll in 15 s, not one every 2.5 s).
    settled = rows_requests(requests_seen)
    page.wait_for_timeout(7000)
    assert rows_requests(requests_seen) - settled <= 1

    # Hidden: no polling at all.
    page.evaluate(
        """() => {
        Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
        document.dispatchEvent(new Event('visibilitychange'));
    }"""
    )
    hidden = rows_requests(requests_seen)
    page.wait_for_timeout(17_000)
    assert rows_requests(requests_seen) == hidden


def test_a_queued_message_is_polled_fast(page, instance, requests_seen):
    OutboundMessage.objects.create(instance=instance, recipient="5521911110002", body="na fila")
    login(page, next_url="/system/whatsapp/messages/")
    expect(page.locator("[data-message]")).to_have_count(1)
    start = rows_requests(requests_seen)
    page.wait_for_timeout(8000)
    assert rows_requests(requests_seen) - start >= 2


def test_zero_attempts_read_as_plural_in_portuguese(page, instance):
    OutboundMessage.objects.create(instance=instance, recipient="5521911110003", body="zero")
    login(page, next_url="/system/whatsapp/messages/")
    expect(page.locator("[data-message] summary")).to_contain_text("0 tentativas")
