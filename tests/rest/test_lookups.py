"""API keys and instances remembered between REST requests (whatsapp/lookups.py).

Transactional: the memory is used only outside transactions, as a web request runs, and it
forgets on commit. Each test shows a saving (no SELECT of the key or the instance) or that a change
counts from the very next request.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from whatsapp import lookups, ratelimit
from whatsapp.models import ApiKey, OutboundMessage

pytestmark = pytest.mark.usefixtures("transactional_db", "rung")


@pytest.fixture(autouse=True)
def _redis_cache(settings):
    if not str(settings.CACHES["default"]["LOCATION"]).startswith("redis://"):
        pytest.skip("the memory needs the cache on Redis, as the test suite runs it")


def post(client, key, n, instance=None):
    body = {"to": f"+55 21 98765-{n:04d}", "text": f"n{n}"}
    if instance:
        body["instance"] = instance
    auth = f"Bearer {key}"
    return client.post(
        "/api/v1/messages", body, content_type="application/json", HTTP_AUTHORIZATION=auth
    )


def kinds(queries):
    """The first word of each statement: ["INSERT"] when a request read nothing."""
    return [q["sql"].split()[0] for q in queries.captured_queries]


def reads(queries, table):
    return [q["sql"] for q in queries if q["sql"].startswith("SELECT") and f'"{table}"' in q["sql"]]


def remembered_key(client, make_instance):
    """A key (and the default instance) that two enqueues have made this process remember."""
    make_instance("main")
    _row, key = ApiKey.create("app")
    for n in (1, 2):
        assert post(client, key, n).status_code == 201
    return key


def test_a_second_enqueue_reads_neither_the_key_nor_the_instance(client, make_instance):
    make_instance("main")
    _row, key = ApiKey.create("app")
    assert post(client, key, 1).status_code == 201
    with CaptureQueriesContext(connection) as first:
        assert post(client, key, 2, "main").status_code == 201
    with CaptureQueriesContext(connection) as second:
        assert post(client, key, 3, "main").status_code == 201
    assert reads(first.captured_queries, "whatsapp_instance")  # not remembered yet
    assert not reads(second.captured_queries, "whatsapp_apikey")
    assert not reads(second.captured_queries, "whatsapp_instance")
    assert kinds(second) == ["INSERT"]
    assert OutboundMessage.objects.count() == 3


def test_a_key_limited_to_some_instances_remembers_them_too(client, make_instance):
    main = make_instance("main")
    _row, key = ApiKey.create("app", instances=[main])
    for n in (1, 2):
        assert post(client, key, n, "main").status_code == 201
    with CaptureQueriesContext(connection) as queries:
        assert post(client, key, 3, "main").status_code == 201
    assert kinds(queries) == ["INSERT"]


@pytest.mark.parametrize("how", ["command", "admin", "save"])
def test_a_revoked_key_is_refused_from_the_next_request(client, make_instance, admin_user, how):
    make_instance("main")
    row, key = ApiKey.create("app")
    assert post(client, key, 1).status_code == 201
    assert post(client, key, 2).status_code == 201  # remembered
    if how == "command":
        call_command("whatsapp_apikey", "revoke", "app")
    elif how == "admin":
        admin = client.__class__()
        admin.force_login(admin_user)
        changelist = "/admin/whatsapp/apikey/"
        admin.post(changelist, {"action": "revoke", "_selected_action": [row.pk]})
        row.refresh_from_db()
        assert row.revoked_at is not None
    else:
        row.revoked_at = timezone.now()
        row.save()
    answer = post(client, key, 3)
    assert answer.status_code == 401
    assert OutboundMessage.objects.count() == 2


def test_a_scope_or_an_instance_taken_from_a_key_counts_at_once(client, make_instance):
    main = make_instance("main")
    make_instance("other", default=False)
    row, key = ApiKey.create("app", instances=[main])
    assert post(client, key, 1, "main").status_code == 201
    assert post(client, key, 2, "main").status_code == 201
    row.instances.remove(main)
    assert post(client, key, 3, "main").json()["code"] == "instance_not_allowed"
    row.scopes = ["read"]
    row.save()
    assert post(client, key, 4, "main").json()["code"] == "missing_scope"


def test_a_disabled_instance_is_refused_from_the_next_request(client, make_instance):
    main = make_instance("main")
    _row, key = ApiKey.create("app")
    assert post(client, key, 1, "main").status_code == 201
    assert post(client, key, 2, "main").status_code == 201
    main.enabled = False
    main.save(update_fields=["enabled"])
    answer = post(client, key, 3, "main")
    assert answer.status_code == 400 and "instance" in answer.json()["errors"]


def test_a_state_change_of_an_instance_keeps_it_remembered(client, make_instance):
    main = make_instance("main")
    _row, key = ApiKey.create("app")
    post(client, key, 1, "main")
    post(client, key, 2, "main")
    main.last_error = "a gateway hiccup"
    main.save(update_fields=["last_error"])
    with CaptureQueriesContext(connection) as queries:
        assert post(client, key, 3, "main").status_code == 201
    assert not reads(queries.captured_queries, "whatsapp_instance")


def test_a_flushed_redis_makes_every_process_read_again(client, make_instance):
    key = remembered_key(client, make_instance)
    cache.clear()  # the generation is gone: what was remembered under it is no longer trusted
    with CaptureQueriesContext(connection) as queries:
        assert post(client, key, 3).status_code == 201
    assert reads(queries.captured_queries, "whatsapp_apikey")
    with CaptureQueriesContext(connection) as queries:
        assert post(client, key, 4).status_code == 201
    assert not reads(queries.captured_queries, "whatsapp_apikey")


def test_while_redis_fails_every_request_reads_the_database(client, make_instance):
    key = remembered_key(client, make_instance)
    ratelimit.failed(ConnectionError("as if Redis were down"))
    for n in (3, 4):
        with CaptureQueriesContext(connection) as queries:
            assert post(client, key, n).status_code == 201
        assert reads(queries.captured_queries, "whatsapp_apikey")
        assert reads(queries.captured_queries, "whatsapp_instance")


def test_nothing_is_remembered_longer_than_max_age(client, make_instance, monkeypatch):
    make_instance("main")
    _row, key = ApiKey.create("app")
    post(client, key, 1)
    monkeypatch.setattr(lookups, "MAX_AGE", 0.0)
    with CaptureQueriesContext(connection) as queries:
        assert post(client, key, 2).status_code == 201
    assert reads(queries.captured_queries, "whatsapp_apikey")


def test_the_rate_limit_still_counts_remembered_keys(client, make_instance):
    make_instance("main")
    row, key = ApiKey.create("busy")
    row.rate_limit, row.rate_burst = 1, 1
    row.save()
    codes = [post(client, key, n).status_code for n in range(4)]
    assert codes[:2] == [201, 201] and codes[2:] == [429, 429]


def test_a_key_without_a_rate_limit_is_remembered_too(client, make_instance):
    make_instance("main")
    row, key = ApiKey.create("unlimited")
    row.rate_limit = 0
    row.save()
    for n in (1, 2):
        assert post(client, key, n).status_code == 201
    with CaptureQueriesContext(connection) as queries:
        assert post(client, key, 3).status_code == 201
    assert kinds(queries) == ["INSERT"]


@pytest.mark.parametrize(
    "bearer",
    ["lw_\x00x", "lw_😀\u202e\u0645\u0631\u062d\u0628\u0627", "9" * 5000, "\udc80", "lw_\ud83d"],
)
def test_an_odd_bearer_is_a_wrong_key_never_a_500(client, make_instance, bearer):
    make_instance("main")
    answer = client.post(
        "/api/v1/messages",
        {"to": "+55 21 98765-0001", "text": "x"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {bearer}",
    )
    assert answer.status_code == 401 and answer.json()["code"] == "not_authenticated"
    assert not OutboundMessage.objects.exists()
