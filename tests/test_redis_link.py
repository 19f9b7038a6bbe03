"""The per-thread Redis connection of the request path's two commands (whatsapp/redis_link.py)."""

from __future__ import annotations

import threading
from unittest import mock

import pytest
import redis
from django.conf import settings

from tests.redis_process import RedisProcess
from whatsapp import doorbell, ratelimit
from whatsapp.redis_link import ThreadLink

SCRIPT = "return redis.call('INCR', KEYS[1])"


@pytest.fixture
def client():
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=0.25)
    yield client
    client.delete("link:n")
    client.close()


def test_a_thread_keeps_one_connection_and_another_thread_has_its_own(client):
    link = ThreadLink()
    first = link.command(client, "CLIENT", "ID")
    assert link.command(client, "CLIENT", "ID") == first
    other: list[int] = []
    thread = threading.Thread(target=lambda: other.append(link.command(client, "CLIENT", "ID")))
    thread.start()
    thread.join()
    assert other and other[0] != first
    link.drop()


def test_its_commands_take_no_connection_from_the_clients_pool(client):
    link = ThreadLink()
    with mock.patch.object(client.connection_pool, "get_connection") as pooled:
        assert link.command(client, "SET", "link:n", 1) == b"OK"
        assert link.command(client, "SET", "link:n", 2, "NX") is None
    assert not pooled.called
    link.drop()


def test_a_connection_the_server_closed_is_replaced_and_the_command_sent_once_more(client):
    link = ThreadLink()
    first = link.command(client, "CLIENT", "ID")
    client.client_kill_filter(_id=first)
    assert link.command(client, "INCR", "link:n") == 1  # sent once, on the new connection
    assert link.command(client, "CLIENT", "ID") != first
    link.drop()


def test_a_timeout_is_not_sent_again():
    server = RedisProcess().start()
    try:
        client = redis.Redis.from_url(server.url, socket_timeout=0.25)
        link = ThreadLink()
        link.command(client, "PING")
        server.freeze()
        with mock.patch.object(ThreadLink, "_round_trip", wraps=ThreadLink._round_trip) as trips:
            with pytest.raises(redis.TimeoutError):
                link.command(client, "INCR", "link:n")
        assert trips.call_count == 1
        server.thaw()
        link.drop()
    finally:
        server.stop()


def test_a_connection_made_before_a_fork_is_not_used_by_the_child(client):
    link = ThreadLink()
    first = link.command(client, "CLIENT", "ID")
    link._local.held[1].pid = -1  # as the child sees its parent's connection
    assert link.command(client, "CLIENT", "ID") != first
    link.drop()


def test_a_script_the_server_has_not_loaded_runs_by_its_text():
    server = RedisProcess().start()  # a new server: it has no script loaded
    try:
        client = redis.Redis.from_url(server.url)
        link = ThreadLink()
        script = client.register_script(SCRIPT)
        assert link.script(client, script, ["link:n"], []) == 1
        assert client.script_exists(script.sha) == [True]
        assert link.script(client, script, ["link:n"], []) == 2
        link.drop()
    finally:
        server.stop()


def test_the_rate_limit_and_the_pending_ring_take_no_pooled_connection():
    ratelimit.reset()
    limiter = ratelimit.redis_client()
    if limiter is None:
        pytest.skip("the cache is not Redis")
    with mock.patch.object(limiter.connection_pool, "get_connection") as pooled:
        assert ratelimit.hit("link-test", 1000, 10).allowed
        assert ratelimit.hit("link-test", 1000, 10).allowed
    assert not pooled.called
    pending = doorbell._pending_client()
    with (
        mock.patch.object(pending.connection_pool, "get_connection") as pooled,
        mock.patch("whatsapp.doorbell._send") as send,
    ):
        doorbell._publish_pending(doorbell.DISPATCH, ("link-test",))
        doorbell._publish_pending(doorbell.DISPATCH, ("link-test",))  # coalesced
    assert send.call_count == 1
    assert not pooled.called
    doorbell.started(doorbell.DISPATCH, "link-test")
