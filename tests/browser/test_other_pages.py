"""Messages and health pages, languages, and the no-CDN rule, in a real browser."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import login
from whatsapp.models import HealthSample, OutboundMessage
from whatsapp.models.message import MessageStatus

pytestmark = [
    pytest.mark.browser,
    pytest.mark.live,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def instance(live, sim, make_instance, operator):
    # Disabled: the page starts nothing and the queued rows below stay queued.
    return make_instance(enabled=False)


def add_message(instance, status, recipient):
    return OutboundMessage.objects.create(
        instance=instance, recipient=recipient, body=f"para {recipient}", status=status
    )


def test_the_messages_page_filters_and_cancels(page, instance):
    keep = add_message(instance, MessageStatus.QUEUED, "5521911110001")
    target = add_message(instance, MessageStatus.QUEUED, "5521922220002")
    add_message(instance, MessageStatus.FAILED, "5521933330003")
    login(page, next_url="/system/whatsapp/messages/")
    rows = page.locator("[data-message]")
    expect(rows).to_have_count(3)

    page.select_option("#f-status", "queued")
    page.click("[data-filters] button[type=submit]")
    expect(rows).to_have_count(2)
    page.fill("#f-recipient", "92222")
    page.click("[data-filters] button[type=submit]")
    expect(rows).to_have_count(1)
    assert "status=queued" in page.url and "recipient=92222" in page.url

    page.once("dialog", lambda dialog: dialog.accept())
    rows.first.locator("form[action$='/cancel/'] button").click()
    expect(page.locator(".flash-success")).to_be_visible()
    # Back on the filtered list: the cancelled message left the "queued" filter.
    expect(rows).to_have_count(0)
    target.refresh_from_db()
    keep.refresh_from_db()
    assert target.status == MessageStatus.CANCELLED
    assert keep.status == MessageStatus.QUEUED

    page.goto("/system/whatsapp/messages/?status=cancelled")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("form[action$='/requeue/'] button")).to_be_visible()


def test_switching_to_english_changes_the_texts(page, instance):
    login(page)
    expect(page.locator("#actions h2")).to_have_text("Ações rápidas")
    expect(page.locator('[data-block="disabled"]')).to_contain_text("desligado")
    page.select_option("#language-select", "en")
    page.wait_for_load_state()
    expect(page.locator("#actions h2")).to_have_text("Quick actions")
    expect(page.locator('[data-block="disabled"]')).to_contain_text("The service is off")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto("/system/whatsapp/messages/")
    expect(page.locator("h1")).to_have_text("Messages")


def test_the_health_page_shows_uptime_timeline_and_chart(page, instance):
    now = timezone.now()
    for n in range(10):
        HealthSample.objects.create(
            instance=instance,
            at=now - timezone.timedelta(seconds=30 * (10 - n)),
            status="CONNECTED",
            connected=True,
        )
    OutboundMessage.objects.create(
        instance=instance, recipient="5521911110001", body="x", status="sent", sent_at=now
    )
    login(page, next_url="/system/whatsapp/health/")
    expect(page.locator('[data-uptime="24h"]')).to_have_text("100,0 %")
    expect(page.locator(".timeline rect[data-state='up']").first).to_be_attached()
    expect(page.locator(".chart rect[data-series='sent']")).to_have_count(14)


def test_no_page_asks_the_network_for_anything_outside_the_app(page, instance, requests_seen):
    page.goto("/accounts/login/")
    login(page)
    for path in (
        "/system/whatsapp/",
        f"/system/whatsapp/instances/{instance.slug}/",
        "/system/whatsapp/messages/",
        "/system/whatsapp/health/",
    ):
        page.goto(path)
        page.wait_for_load_state("networkidle")
    assert len(requests_seen.urls) > 10
    assert any(u.endswith("/static/whatsapp/css/app.css") for u in requests_seen.urls)
    assert any("/static/whatsapp/icons/sprite.svg" in u for u in requests_seen.urls)
    assert requests_seen.outside() == []
