"""Per-number permissions: an operator limited to some instances, everywhere in the dashboard."""

from __future__ import annotations

import pytest

from whatsapp import api
from whatsapp.models import Instance, OutboundMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def numbers(rung, operator):
    rows = {}
    for slug, default in (("sales", True), ("support", False)):
        row = Instance(slug=slug, name=slug.title(), session_name=slug, is_default=default)
        row.gateway_url = "http://127.0.0.1:9"
        row.secret_key = "secret"
        row.save()
        rows[slug] = row
    rows["support"].operators.add(operator)  # the operator is limited to support
    return rows


def test_a_limited_operator_sees_and_acts_on_their_instances_only(operator_client, numbers):
    theirs = api.send_text("+55 21 99999-0001", "support's", instance="support")
    other = api.send_text("+55 21 99999-0002", "sales's", instance="sales")

    assert operator_client.get("/system/whatsapp/instances/sales/").status_code == 404
    page = operator_client.get("/system/whatsapp/instances/support/")
    assert page.status_code == 200
    assert [i.slug for i in page.context["instances"]] == ["support"]
    # The default URL shows their own instance, not the default they may not see.
    assert operator_client.get("/system/whatsapp/").context["instance"].slug == "support"
    assert operator_client.get("/system/whatsapp/instances/sales/health/").status_code == 404

    listed = operator_client.get("/system/whatsapp/messages/").context["page_obj"].object_list
    assert [m.pk for m in listed] == [theirs.pk]
    status = operator_client.get(f"/system/whatsapp/messages/{other.pk}/status/")
    assert status.status_code == 404
    operator_client.post(f"/system/whatsapp/messages/{other.pk}/cancel/")
    assert OutboundMessage.objects.get(pk=other.pk).status == "queued"

    for action in ("start", "close", "logout", "refresh", "status", "qrcode"):
        answer = operator_client.post(f"/system/whatsapp/instances/sales/{action}/")
        if action in ("status", "qrcode"):
            answer = operator_client.get(f"/system/whatsapp/instances/sales/{action}/")
        assert answer.status_code == 404, action
    send_test = operator_client.post(
        "/system/whatsapp/instances/sales/send-test/",
        {"phone": "+55 21 99999-0003", "message": "x"},
        content_type="application/json",
    )
    assert send_test.status_code == 404
    assert not OutboundMessage.objects.filter(body="x").exists()


def test_a_user_listed_nowhere_keeps_every_instance(operator_client, numbers, operator):
    numbers["support"].operators.remove(operator)
    page = operator_client.get("/system/whatsapp/instances/sales/")
    assert page.status_code == 200
    assert {i.slug for i in page.context["instances"]} == {"sales", "support"}


def test_the_admin_shows_a_limited_user_only_their_instances_rows(client, numbers, operator):
    from django.contrib.auth.models import Permission

    operator.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_instance", "view_outboundmessage", "view_auditentry"]
        )
    )
    client.force_login(operator)
    api.send_text("+55 21 99999-0001", "support's", instance="support")
    api.send_text("+55 21 99999-0002", "sales's", instance="sales")
    instances = client.get("/admin/whatsapp/instance/")
    assert [row.slug for row in instances.context["cl"].result_list] == ["support"]
    messages = client.get("/admin/whatsapp/outboundmessage/")
    assert [m.body for m in messages.context["cl"].result_list] == ["support's"]
    sales = numbers["sales"].pk
    assert client.get(f"/admin/whatsapp/instance/{sales}/change/").status_code == 302
