"""The admin as the operators meet it: agreeing Portuguese, no forms for what must not be typed."""

from __future__ import annotations

import pytest

from whatsapp.models import Instance

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_pt(admin_client):
    admin_client.cookies["django_language"] = "pt-br"
    return admin_client


def test_adding_an_instance_says_so_in_agreeing_portuguese(admin_pt):
    response = admin_pt.post(
        "/admin/whatsapp/instance/add/",
        {
            "name": "Vendas",
            "slug": "vendas",
            "gateway_url": "http://127.0.0.1:21465",
            "session_name": "vendas",
            "secret_key": "s3cret",
            "enabled": "on",
            "min_gap_seconds": "3",
            "max_gap_seconds": "8",
            "cap_per_minute": "8",
            "cap_per_hour": "200",
            "cap_per_day": "1000",
        },
        follow=True,
    )
    assert Instance.objects.filter(slug="vendas").exists(), response.content.decode()[:3000]
    text = response.content.decode()
    assert "A instância “Vendas” foi adicionada." in text
    assert "O instância" not in text and "foi adicionado" not in text


def test_message_lists_name_their_instance_column_in_portuguese(admin_pt):
    from whatsapp.models import OutboundMessage

    instance = Instance.objects.create(
        slug="main", name="Main", session_name="main", gateway_url="http://127.0.0.1:21465"
    )
    OutboundMessage.objects.create(instance=instance, recipient="5521999990000", body="x")
    text = admin_pt.get("/admin/whatsapp/outboundmessage/").content.decode()
    assert "Instância</a>" in text
    assert "INSTANCE" not in text and ">instance<" not in text


def test_inbound_messages_cannot_be_added_by_hand(admin_pt):
    assert admin_pt.get("/admin/whatsapp/inboundmessage/add/").status_code == 403
    text = admin_pt.get("/admin/whatsapp/inboundmessage/").content.decode()
    assert "/admin/whatsapp/inboundmessage/add/" not in text


def test_the_api_key_list_says_how_keys_are_created(admin_pt):
    text = admin_pt.get("/admin/whatsapp/apikey/").content.decode()
    assert "manage.py whatsapp_apikey create" in text
    assert "/admin/whatsapp/apikey/add/" not in text
