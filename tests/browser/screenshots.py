"""Pictures of every page for the README: run by `make screenshots` (scripts/screenshots.py).

Not a test module (pytest only collects test_*.py); the guard keeps it out of a run that names it
by accident.
"""

from __future__ import annotations

import os
import random
from datetime import timedelta
from pathlib import Path

import pytest
from django.db.models import F
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import login
from whatsapp.models import HealthSample, InboundMessage, MessageAttempt, OutboundMessage
from whatsapp.models.message import MessageStatus

OUT = Path(os.environ.get("SCREENSHOTS_DIR", "docs/screenshots"))

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        os.environ.get("LEGUAS_SCREENSHOTS") != "1", reason="run by make screenshots"
    ),
]


def shot(page, name: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(300)  # let the badge and countdown settle
    page.screenshot(path=str(OUT / f"{name}.png"))


def history(instance) -> None:
    """A believable week: mostly connected, two drops, a few dozen messages a day."""
    rng = random.Random(3)
    now = timezone.now()
    samples, connected = [], True
    at = now - timedelta(days=7)
    step = timedelta(minutes=1)  # sparser than the recorder, within its gap tolerance
    while at < now:
        was = connected
        hours_ago = (now - at).total_seconds() / 3600
        connected = not (30 < hours_ago < 31.5 or 5 < hours_ago < 5.4 or 120 < hours_ago < 126)
        transition = "" if was == connected else ("connected" if connected else "disconnected")
        samples.append(
            HealthSample(
                instance=instance,
                at=at,
                status="CONNECTED" if connected else "CLOSED",
                connected=connected,
                latency_ms=rng.randint(20, 90),
                transition=transition,
            )
        )
        at += step
    HealthSample.objects.bulk_create(samples)
    messages = []
    for day in range(14):
        for _ in range(rng.randint(15, 40)):
            sent = now - timedelta(days=day, minutes=rng.randint(0, 600))
            failed = rng.random() < 0.06
            messages.append(
                OutboundMessage(
                    instance=instance,
                    recipient=f"55219{rng.randint(10000000, 99999999)}",
                    body="Seu pedido saiu para entrega.",
                    status=MessageStatus.FAILED if failed else MessageStatus.READ,
                    attempts=1,
                    sent_at=None if failed else sent,
                    delivered_at=None if failed else sent + timedelta(seconds=4),
                    read_at=None if failed else sent + timedelta(minutes=3),
                    failed_at=sent if failed else None,
                    last_error="o número não tem WhatsApp" if failed else "",
                )
            )
    OutboundMessage.objects.bulk_create(messages)
    # auto_now_add stamped them all now; date them when they were sent.
    OutboundMessage.objects.filter(status="read").update(created_at=F("sent_at"))
    OutboundMessage.objects.filter(status="failed").update(created_at=F("failed_at"))


def recent_messages(instance) -> None:
    now = timezone.now()
    rows = [
        ("5521998765432", "Olá! Sua entrega chega hoje entre 14h e 16h.", MessageStatus.QUEUED),
        ("5511987654321", "Pedido #4821 confirmado.", MessageStatus.SENT),
        ("5531976543210", "Seu código de retirada é 7731.", MessageStatus.DELIVERED),
        ("5521965432109", "Obrigado pela compra!", MessageStatus.READ),
        ("5521900000000", "Lembrete: pagamento vence amanhã.", MessageStatus.FAILED),
    ]
    for n, (to, text, status) in enumerate(rows):
        message = OutboundMessage.objects.create(
            instance=instance,
            recipient=to,
            body=text,
            status=status,
            attempts=0 if status == "queued" else 1,
        )
        at = now - timedelta(minutes=n)
        OutboundMessage.objects.filter(pk=message.pk).update(
            sent_at=at if status in ("sent", "delivered", "read") else None,
            delivered_at=at if status in ("delivered", "read") else None,
            read_at=at if status == "read" else None,
            failed_at=at if status == "failed" else None,
            last_error="O gateway respondeu com erro (HTTP 500): Erro ao enviar a mensagem."
            if status == "failed"
            else "",
        )
        if status != "queued":
            MessageAttempt.objects.create(
                message=message,
                number=1,
                started_at=at,
                finished_at=at,
                outcome="failed" if status == "failed" else "sent",
                http_status=500 if status == "failed" else 201,
                duration_ms=180,
            )


def received_messages(instance) -> None:
    """Two conversations: one answered by the first of `recent_messages`, one waiting."""
    now = timezone.now()
    rows = [
        ("5521998765432", "Ana Souza", "Oi! Meu pedido sai hoje?", 30),
        ("5521998765432", "Ana Souza", "Moro no centro, perto da praça.", 29),
        ("5511912345678", "Carlos", "Vocês entregam no sábado?", 2),
    ]
    for n, (sender, name, text, minutes) in enumerate(rows):
        row = InboundMessage.objects.create(
            instance=instance,
            gateway_id=f"false_{sender}@c.us_SCREEN{n}",
            sender=sender,
            chat=sender,
            push_name=name,
            type="chat",
            body=text,
        )
        at = now - timedelta(minutes=minutes)
        InboundMessage.objects.filter(pk=row.pk).update(sent_at=at, received_at=at)
    OutboundMessage.objects.filter(recipient="5521998765432").update(
        created_at=now - timedelta(minutes=28)
    )


def test_screenshots(page, browser, live_server, live, sim, make_instance, operator):
    instance = make_instance("principal", name="Leguas Entregas", min_gap_seconds=0)
    make_instance("suporte", default=False, name="Suporte")

    page.goto("/accounts/login/")
    shot(page, "login")

    login(page)
    expect(page.locator("[data-qr-img]")).to_be_visible()
    shot(page, "session-qr-pt")
    page.select_option("#language-select", "en")
    page.wait_for_load_state()
    expect(page.locator("[data-qr-img]")).to_be_visible()
    shot(page, "session-qr-en")

    sim.scan(instance.session_name)
    expect(page.locator("#session-info")).to_be_visible()
    expect(page.locator('[data-info="phone"]')).not_to_have_text("—", timeout=30_000)
    shot(page, "session-connected-en")
    page.select_option("#language-select", "pt-br")
    page.wait_for_load_state()
    expect(page.locator("#session-info")).to_be_visible()
    shot(page, "session-connected-pt")

    # A phone-sized session page, connected.
    phone = browser.new_context(
        base_url=live_server.url,
        locale="pt-BR",
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
    )
    small = phone.new_page()
    login(small)
    expect(small.locator("#session-info")).to_be_visible()
    small.wait_for_timeout(300)
    small.screenshot(path=str(OUT / "session-phone-pt.png"), full_page=True)
    phone.close()

    # The gateway stops answering: the outage, explained.
    sim.refuse(120)
    try:
        expect(page.locator("#outage")).to_be_visible(timeout=60_000)
        expect(page.locator('[data-outage="reason"]')).to_contain_text("recusada", timeout=60_000)
        shot(page, "session-outage-pt")
        page.select_option("#language-select", "en")
        page.wait_for_load_state()
        expect(page.locator("#outage")).to_be_visible()
        shot(page, "session-outage-en")
        page.select_option("#language-select", "pt-br")
        page.wait_for_load_state()
    finally:
        sim.come_back()
    expect(page.locator("#session-info")).to_be_visible(timeout=60_000)

    history(instance)
    recent_messages(instance)
    page.goto("/system/whatsapp/messages/")
    page.locator("[data-message] details").nth(4).evaluate("d => d.open = true")
    shot(page, "messages")
    received_messages(instance)
    page.goto("/system/whatsapp/inbox/principal/5521998765432/")
    shot(page, "inbox")
    page.goto("/system/whatsapp/health/")
    shot(page, "health")
    page.locator(".chart").scroll_into_view_if_needed()
    shot(page, "health-chart")
