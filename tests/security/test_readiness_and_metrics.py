"""/readyz (database, Redis, beat's heartbeat) and /metrics (token, gauges from the database)."""

from __future__ import annotations

import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from tests.redis_process import RedisProcess
from whatsapp import api, liveness
from whatsapp.models import Instance, OutboundMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def fresh_beat():
    liveness.write_beat_heartbeat(time.time())


def test_ready_when_the_database_redis_and_beat_answer(client, fresh_beat, gateway_instance):
    Instance.objects.filter(pk=gateway_instance.pk).update(
        gateway_error="refused", unreachable_since=timezone.now()
    )
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.json()
    body = ready.json()
    assert body["failing"] == [] and body["checks"]["beat"]["ok"]
    # An unreachable gateway is named, and does not make the web unready.
    assert body["gateways"]["unreachable"][0]["instance"] == "main"


def test_not_ready_while_beat_is_stale_or_never_ran(client, whatsapp_conf):
    from django.core.cache import cache

    cache.delete(liveness.BEAT_KEY)
    missing = client.get("/readyz")
    assert missing.status_code == 503 and missing.json()["failing"] == ["beat"]
    whatsapp_conf.BEAT_STALE_AFTER = 90
    liveness.write_beat_heartbeat(time.time() - 300)
    stale = client.get("/readyz")
    assert stale.status_code == 503
    assert stale.json()["checks"]["beat"]["error"] == "stale"
    assert client.get("/healthz").status_code == 200  # liveness is not readiness


def test_not_ready_with_redis_stopped(client, settings):
    redis = RedisProcess().start()
    try:
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": redis.url,
                "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
            }
        }
        # (pytest-django's settings fixture makes Django rebuild its cache handlers.)
        liveness.write_beat_heartbeat(time.time())
        assert client.get("/readyz").status_code == 200
        redis.stop()
        down = client.get("/readyz")
        assert down.status_code == 503
        assert set(down.json()["failing"]) == {"redis", "beat"}
        assert down.json()["checks"]["database"]["ok"]
    finally:
        redis.stop()


def test_the_beat_heartbeat_records_the_schedulers_last_tick():
    ticked = time.monotonic() - 42.0
    liveness.on_beat_init(SimpleNamespace(_last_tick=ticked))
    deadline = time.monotonic() + 5
    while liveness.beat_heartbeat() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert 40 < time.time() - (liveness.beat_heartbeat() or 0) < 45


def scrape(client, token: str = "metrics-token-123"):
    return client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")


def sample(text: str, name: str, **labels: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and all(found.labels.get(k) == v for k, v in labels.items()):
                return found.value
    raise AssertionError(f"{name}{labels} not in the scrape")


def test_metrics_need_the_configured_token(client, whatsapp_conf, db):
    whatsapp_conf.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    whatsapp_conf.METRICS_TOKEN = "metrics-token-123"
    assert client.get("/metrics").status_code == 401
    assert scrape(client, "wrong").status_code == 401
    assert scrape(client).status_code == 200


def test_gauges_come_from_the_database_at_scrape_time(
    client, whatsapp_conf, gateway_instance, rung
):
    whatsapp_conf.METRICS_TOKEN = "metrics-token-123"
    Instance.objects.filter(pk=gateway_instance.pk).update(status="CONNECTED", connected=True)
    old = api.send_text("+55 21 99999-0001", "old")
    api.send_text("+55 21 99999-0002", "new")
    OutboundMessage.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(seconds=600)
    )
    stuck = api.send_text("+55 21 99999-0003", "stuck")
    OutboundMessage.objects.filter(pk=stuck.pk).update(
        status="unknown", needs_review_since=timezone.now()
    )
    text = scrape(client).content.decode()
    assert sample(text, "whatsapp_messages", instance="main", status="queued") == 2
    assert sample(text, "whatsapp_messages", instance="main", status="unknown") == 1
    assert sample(text, "whatsapp_queue_oldest_age_seconds", instance="main") >= 600
    assert sample(text, "whatsapp_messages_needing_review", instance="main") == 1
    assert sample(text, "whatsapp_session_connected", instance="main") == 1
    assert sample(text, "whatsapp_session_status", instance="main", status="CONNECTED") == 1
