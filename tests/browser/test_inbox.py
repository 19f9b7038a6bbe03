"""The inbox on the real stack: a message sent to the number through the simulator shows up
without a reload, an image inline once a worker downloaded it, and a reply typed in the inbox
reaches the simulator's ledger once."""

from __future__ import annotations

import io
import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, mark_loaded, still_same_page
from tests.live import wait_until
from tests.media.samples import b64
from tests.messages.conftest import UNPACED, connect, phone
from whatsapp.models import InboundMessage, OutboundMessage

pytestmark = [
    pytest.mark.browser,
    pytest.mark.live,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("quiet_live_workers"),
]


@pytest.fixture
def instance(live, sim, make_instance, operator):
    instance = make_instance("main", name="Loja", **UNPACED)
    connect(sim, instance, live["url"])
    return instance


def photo() -> bytes:
    """A real JPEG a browser can draw (the media tests' samples are only headers)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (16, 185, 129)).save(out, format="JPEG")
    return out.getvalue()


def received(gateway_id: str) -> InboundMessage:
    assert wait_until(lambda: InboundMessage.objects.filter(gateway_id=gateway_id).exists(), 20)
    return InboundMessage.objects.get(gateway_id=gateway_id)


def test_a_message_appears_without_a_reload_and_a_reply_reaches_the_ledger_once(
    page, instance, sim
):
    first = sim.incoming(instance.session_name, phone(1), "Olá, tem entrega hoje?")
    received(first["id"])
    login(page, next_url=f"/system/whatsapp/inbox/main/{phone(1)}/")
    thread = page.locator("[data-thread]")
    expect(thread).to_contain_text("Olá, tem entrega hoje?")
    mark_loaded(page)

    # The person writes again while the page is open: it appears in place.
    sim.incoming(instance.session_name, phone(1), "Moro no centro 🏠")
    expect(thread.locator('[data-direction="in"]')).to_have_count(2)
    expect(thread).to_contain_text("Moro no centro 🏠")
    assert still_same_page(page)

    # The reply goes through the queue and the workers to the gateway, once.
    page.fill("#reply-text", "Tem sim! Chega às 15h.")
    page.click("[data-reply] button[type=submit]")
    expect(thread.locator('[data-direction="out"]')).to_have_count(1)
    assert wait_until(lambda: len(sim.ledger(message="Tem sim! Chega às 15h.")) >= 1, 30)
    expect(thread.locator('[data-direction="out"]')).not_to_have_attribute(
        "data-status", "queued", timeout=20_000
    )
    time.sleep(2)  # a second send would land now
    entries = sim.ledger(message="Tem sim! Chega às 15h.")
    assert len(entries) == 1
    assert OutboundMessage.objects.get().recipient == phone(1)


def test_a_new_conversation_and_an_inbound_image_show_up_in_place(page, instance, sim):
    login(page, next_url="/system/whatsapp/inbox/")
    mark_loaded(page)
    sim.incoming(
        instance.session_name,
        phone(2),
        media_base64=b64(photo()),
        mimetype="image/jpeg",
        type="image",
        caption="a nota fiscal",
        push_name="Bruna",
    )
    conversation = page.locator(f'[data-conversation="main/{phone(2)}"]')
    expect(conversation).to_contain_text("Bruna")
    expect(conversation.locator("[data-unread]")).to_have_attribute("data-unread", "1")
    assert still_same_page(page)
    conversation.click()
    image = page.locator("[data-thread] img[data-inline-image]")
    expect(image).to_be_visible()
    page.wait_for_function(
        """() => {
        const img = document.querySelector("[data-thread] img[data-inline-image]");
        return img && img.complete && img.naturalWidth > 0;
    }"""
    )
