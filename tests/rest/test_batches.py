"""Batches over REST and Python: one transaction, one ring, errors in place, replay by key."""

from __future__ import annotations

import json

import pytest
from django.utils.translation import gettext

from tests.messages.conftest import phone
from whatsapp import api, doorbell
from whatsapp.models import OutboundMessage

pytestmark = pytest.mark.django_db
BAD = {17: {"to": "12345"}, 500: {"text": ""}, 999: {"priority": "urgent"}}


def batch_items(n: int = 1000) -> list[dict]:
    items = []
    for i in range(n):
        item: dict[str, object] = {
            "to": phone(i),
            "text": f"campaign {i}",
            "idempotency_key": f"c-{i}",
        }
        if i % 3 == 0:
            item["metadata"] = {"customer": i}
        items.append({**item, **BAD.get(i, {})})
    return items


def post(client, body):
    return client.post(
        "/api/v1/messages/batch", data=json.dumps(body), content_type="application/json"
    )


def test_a_batch_of_1000_with_3_bad_items_then_the_same_again(
    api_client, make_instance, rung, django_assert_max_num_queries
):
    instance = make_instance("main")
    items = batch_items()
    with django_assert_max_num_queries(20):  # not one insert per message
        response = post(api_client, {"messages": items})
    assert response.status_code == 207, response.content[:500]
    body = response.json()
    assert (body["created"], body["replayed"], body["rejected"]) == (997, 0, 3)
    results = body["results"]
    assert [r["index"] for r in results] == list(range(1000))
    assert {r["index"] for r in results if not r["ok"]} == set(BAD)
    assert set(results[17]["errors"]) == {"to"} and set(results[500]["errors"]) == {"text"}
    assert set(results[999]["errors"]) == {"priority"}
    assert results[3]["message"]["metadata"] == {"customer": 3}
    assert "metadata" not in results[1]["message"]
    assert OutboundMessage.objects.count() == 997
    assert rung.args_of(doorbell.DISPATCH) == [instance.pk]

    again = post(api_client, {"messages": items}).json()
    assert (again["created"], again["replayed"], again["rejected"]) == (0, 997, 3)
    assert [r["message"]["id"] for r in again["results"] if r["ok"]] == [
        r["message"]["id"] for r in results if r["ok"]
    ]
    assert OutboundMessage.objects.count() == 997
    assert rung.args_of(doorbell.DISPATCH) == [instance.pk]  # nothing new: no second ring


def test_a_key_reused_with_another_payload_conflicts_in_place(api_client, make_instance, rung):
    make_instance("main")
    first = {"to": phone(1), "text": "one", "idempotency_key": "k"}
    body = post(api_client, {"messages": [first, {**first, "text": "two"}, first]}).json()
    assert [r["ok"] for r in body["results"]] == [True, False, True]
    assert body["results"][1]["code"] == "idempotency_conflict"
    assert body["results"][2]["replayed"] is True
    assert OutboundMessage.objects.count() == 1


def test_an_all_good_batch_is_201_and_items_are_checked_like_single_messages(
    api_client, make_instance, rung
):
    make_instance("main")
    ok = post(api_client, {"messages": [{"to": phone(1), "text": "a"}]})
    assert ok.status_code == 201 and ok.json()["created"] == 1
    odd = post(api_client, {"messages": [{"to": phone(1), "text": "a", "colour": "red"}]}).json()
    assert odd["results"][0]["errors"] == {"colour": ["This field is not known."]}


@pytest.mark.parametrize(
    "body",
    [{}, {"messages": []}, {"messages": "x"}, {"messages": [1]}, {"messages": [{}] * 1001},
     {"messages": [{"to": "1", "text": "x"}], "extra": 1}],
)  # fmt: skip
def test_a_malformed_batch_is_a_400_and_writes_nothing(api_client, make_instance, body):
    make_instance("main")
    response = post(api_client, body)
    assert response.status_code == 400, response.content
    assert response.json()["errors"]
    assert not OutboundMessage.objects.exists()


def test_send_many_is_the_same_in_python(make_instance, rung):
    instance = make_instance("main")
    results = api.send_many([*batch_items(10), {"to": phone(3), "text": "x", "nope": 1}, "bad"])
    assert [r.ok for r in results].count(False) == 2
    assert results[10].error.errors == {"nope": [gettext("This field is not known.")]}
    assert "item" in results[11].error.errors
    assert OutboundMessage.objects.count() == 10
    assert rung.args_of(doorbell.DISPATCH) == [instance.pk]
    replayed = api.send_many(batch_items(10))
    assert [r.created for r in replayed] == [False] * 10
    with pytest.raises(api.MessageValidationError):
        api.send_many([])
