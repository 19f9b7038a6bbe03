"""A broker that refuses or hangs costs a request about a second at most (a Redis of its own)."""

from __future__ import annotations

import time

import pytest
from celery import current_app
from django.db import transaction

from tests.messages.conftest import phone
from tests.redis_process import RedisProcess
from whatsapp import api, doorbell
from whatsapp.models import OutboundMessage

pytestmark = pytest.mark.live

BOUND = 1.2  # "about 1 s in total"


@pytest.fixture
def own_redis(monkeypatch):
    server = RedisProcess().start()
    # Celery reads CELERY_BROKER_URL from the environment before its settings.
    monkeypatch.setenv("CELERY_BROKER_URL", server.url)
    assert current_app.conf.broker_write_url == server.url
    doorbell.reset()
    yield server
    server.thaw() if server.proc and server.proc.poll() is None else None
    server.stop()
    doorbell.reset()


def timed_publish() -> tuple[bool, float]:
    started = time.monotonic()
    ok = doorbell.publish(doorbell.DISPATCH, (1,))
    return ok, time.monotonic() - started


def test_a_frozen_redis_makes_a_publish_give_up_within_a_second(own_redis):
    assert timed_publish()[0] is True  # a pooled connection, as in a running web process
    own_redis.freeze()
    ok, took = timed_publish()
    assert ok is False and took < BOUND, took
    # A fresh connection: the kernel still accepts it, then nothing answers.
    doorbell.reset()
    ok, took = timed_publish()
    assert ok is False and took < BOUND, took
    # The cooldown skips the next publishes at once.
    ok, took = timed_publish()
    assert ok is False and took < 0.05


def test_a_refusing_redis_makes_a_publish_give_up_at_once(own_redis):
    assert timed_publish()[0] is True
    own_redis.stop()
    ok, took = timed_publish()
    assert ok is False and took < BOUND, took


@pytest.mark.django_db(transaction=True)
def test_an_enqueue_with_redis_frozen_is_fast_and_the_row_is_kept(own_redis, make_instance):
    make_instance("main")
    own_redis.freeze()
    started = time.monotonic()
    with transaction.atomic():
        message = api.send_text(phone(1), "kept while redis sleeps")
    took = time.monotonic() - started
    assert took < BOUND + 0.3, took
    assert OutboundMessage.objects.filter(pk=message.pk, status="queued").exists()


@pytest.mark.django_db(transaction=True)
def test_a_coalesced_ring_gives_up_at_once_when_redis_died_after_the_cooldown(
    own_redis, monkeypatch
):
    """The dispatcher's ring opens a new connection after the cooldown: it must not wait out
    kombu's default 2 s before a second connection attempt (every enqueue then took 2 s)."""
    monkeypatch.setattr(doorbell, "COOLDOWN_SECONDS", 0.2)

    def ring() -> float:
        started = time.monotonic()
        with transaction.atomic():
            doorbell.ring_pending(doorbell.DISPATCH, 1)
        return time.monotonic() - started

    ring()
    own_redis.stop()
    ring()  # the dropped connection fails; the cooldown starts
    time.sleep(0.3)
    took = ring()  # a new connection to a port that refuses
    assert took < 0.5, took
