"""Fault suite scenario 13, short: with Redis frozen (SIGSTOP), broker and cache alike, a REST
enqueue answers 201 in about a second and the row is kept. The API key's rate limit reads the
cache: it gives up on a hung Redis in a quarter of a second, then skips for a while."""

from __future__ import annotations

import time

import pytest
from django.test import override_settings

from tests.redis_process import RedisProcess
from whatsapp import doorbell, ratelimit
from whatsapp.models import ApiKey, OutboundMessage

pytestmark = pytest.mark.live


@pytest.fixture
def frozen_redis(monkeypatch):
    """A Redis of the test's own as broker and cache, frozen once the caller has warmed it."""
    server = RedisProcess().start()
    monkeypatch.setenv("CELERY_BROKER_URL", server.url)
    cache_url = server.url.rsplit("/", 1)[0] + "/1"
    backend = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": cache_url}
    # Django's setting_changed handler gives `caches` the new default at once.
    with override_settings(CACHES={"default": backend}):
        doorbell.reset()
        ratelimit.reset()
        yield server
        server.thaw()
        server.stop()
    doorbell.reset()
    ratelimit.reset()


def test_the_rate_limit_gives_up_on_a_frozen_cache_in_a_quarter_second_then_skips(frozen_redis):
    assert ratelimit.hit("frozen", 5, 5).allowed  # a pooled connection, as in a web process
    frozen_redis.freeze()
    started = time.monotonic()
    assert ratelimit.hit("frozen", 5, 5).allowed
    assert time.monotonic() - started < 0.6
    started = time.monotonic()
    assert ratelimit.hit("frozen", 5, 5).allowed
    assert time.monotonic() - started < 0.05


@pytest.mark.django_db(transaction=True)
def test_a_rest_enqueue_with_redis_frozen_answers_201_within_a_second_and_a_half(
    frozen_redis, client, make_instance
):
    make_instance("main")
    _row, key = ApiKey.create("frozen")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    body = {"to": "5521987000001", "text": "while redis sleeps"}
    first = client.post("/api/v1/messages", body, content_type="application/json", **headers)
    assert first.status_code == 201, first.content
    frozen_redis.freeze()
    took = []
    for n in range(3):
        body["text"] = f"while redis sleeps {n}"
        started = time.monotonic()
        answer = client.post("/api/v1/messages", body, content_type="application/json", **headers)
        took.append(time.monotonic() - started)
        assert answer.status_code == 201, answer.content
        assert OutboundMessage.objects.filter(pk=answer.json()["id"], status="queued").exists()
    assert max(took) < 1.5, took
