"""The Python API does what the REST API does, with the same rules and reasons."""

from __future__ import annotations

import io
import json

import pytest
import zxingcpp
from django.utils import translation
from PIL import Image

from tests.messages.conftest import phone
from whatsapp import api
from whatsapp.services import operations

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(rung):
    return rung


def test_listing_filters_and_pages_like_rest(api_client, make_instance):
    make_instance("main")
    for n in range(3):
        api.send_text(phone(n), f"m{n}", metadata={"n": n})
    page = api.list_messages(limit=2)
    assert [m.body for m in page.results] == ["m2", "m1"] and page.next_cursor
    rest = api_client.get(f"/api/v1/messages?limit=2&cursor={page.next_cursor}").json()
    assert [m["text"] for m in rest["results"]] == [m.body for m in api.list_messages(
        limit=2, cursor=page.next_cursor).results]  # fmt: skip
    for bad in ({"status": "nope"}, {"created_after": "yesterday"}, {"limit": 0}, {"colour": 1}):
        with translation.override("en"), pytest.raises(api.MessageValidationError) as caught:
            api.list_messages(**bad)
        (query,) = [f"{k}={v}" for k, v in bad.items()]
        over_rest = api_client.get(f"/api/v1/messages?{query}").json()["errors"]
        if "colour" not in bad:  # REST names an unknown query parameter; Python an unknown filter
            assert caught.value.errors == over_rest


def test_same_reasons_for_a_bad_message_in_both(api_client, make_instance):
    make_instance("main")
    body = {"to": "12", "text": " ", "priority": "urgent", "expires_at": "2001-01-01T00:00:00Z"}
    rest = api_client.post(
        "/api/v1/messages", data=json.dumps(body), content_type="application/json"
    )
    with translation.override("en"), pytest.raises(api.MessageValidationError) as caught:
        api.send_text(**body)
    assert caught.value.errors == rest.json()["errors"]


def test_sessions_from_python_follow_the_same_rules(make_instance, sim):
    instance = make_instance("main")
    assert [i.slug for i in api.instances()] == ["main"]
    with pytest.raises(api.InvalidPhone):
        api.start_session(phone="12")
    first = api.start_session()
    assert api.start_session().pk == first.pk  # one active start
    operations.run(first.pk)
    assert api.operation(first.pk).status == "succeeded"
    (decoded,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(api.qr_png())))
    assert decoded.text == sim.session(instance.session_name)["urlcode"]
    assert api.instance().status == "QRCODE"
    with pytest.raises(api.InstanceNotFound):
        api.close_session("ghost")
    with pytest.raises(api.OperationNotFound):
        api.operation(10**9)
    assert api.refresh_session().kind == "refresh"
    assert api.logout_session().kind == "logout" and api.close_session().kind == "close"


def test_a_batch_of_rich_items_judges_each_alike_in_both(api_client, make_instance):
    make_instance("main")
    items = [
        {"to": phone(1), "type": "image", "media_base64": "bad base64!"},
        {"to": phone(2), "location": {"latitude": 91, "longitude": 0}},
        {"to": phone(3), "contact": {"name": "Ana", "phones": ["+5521988887777"]}},
    ]
    rest = api_client.post(
        "/api/v1/messages/batch",
        data=json.dumps({"messages": items}),
        content_type="application/json",
    ).json()
    with translation.override("en"):
        python = api.send_many(items)
    assert [r["ok"] for r in rest["results"]] == [r.ok for r in python] == [False, False, True]
    assert [r.get("errors") for r in rest["results"][:2]] == [r.error.errors for r in python[:2]]
