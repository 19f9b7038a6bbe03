"""The dashboard's words in Portuguese and English: one term per thing, agreeing Portuguese, no
HTTP codes and no untranslated column names."""

from __future__ import annotations

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
def instance(live, sim, make_instance, operator):
    return make_instance(enabled=True, min_gap_seconds=0, max_gap_seconds=0)


def switch_to(page, language: str) -> None:
    page.select_option("#language-select", language)
    page.wait_for_load_state()


@pytest.mark.parametrize(
    ("language", "service_on", "attempts"),
    [("pt-br", "Serviço ligado", "0 tentativas"), ("en", "Service on", "0 attempts")],
)
def test_one_term_per_thing_in_both_languages(page, instance, language, service_on, attempts):
    OutboundMessage.objects.create(instance=instance, recipient="5521911110001", body="x")
    login(page)
    switch_to(page, language)
    settings = page.locator("#settings")
    expect(settings.locator("summary .badge")).to_have_text(service_on)
    settings.locator("summary").click()
    expect(
        settings.locator("label.toggle", has=page.locator("[data-enabled-toggle]"))
    ).to_have_text(service_on)
    page.goto("/system/whatsapp/messages/")
    expect(page.locator("[data-message] summary")).to_contain_text(attempts)


def test_the_admin_speaks_agreeing_portuguese(page, instance, django_user_model):
    django_user_model.objects.create_superuser("chefe", password="pw-123-secret")
    OutboundMessage.objects.create(instance=instance, recipient="5521911110001", body="x")
    login(page, username="chefe", next_url="/admin/whatsapp/instance/add/")
    page.fill("#id_name", "Vendas")
    page.fill("#id_slug", "vendas")
    page.fill("#id_gateway_url", "http://127.0.0.1:21465")
    page.fill("#id_session_name", "vendas")
    page.fill("#id_secret_key", "segredo")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist .success")).to_have_text(
        "A instância “Vendas” foi adicionada."
    )
    page.goto("/admin/whatsapp/outboundmessage/")
    expect(page.locator("#result_list thead")).to_contain_text("Instância")
    expect(page.locator("#result_list thead")).not_to_contain_text("INSTANCE")
    page.goto("/admin/whatsapp/apikey/")
    expect(page.locator("[data-apikey-howto]")).to_contain_text("whatsapp_apikey create")
