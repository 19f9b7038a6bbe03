"""End to end: real workers (messages, default+housekeeping, webhooks), the real Redis and
PostgreSQL, the simulator, and a real HTTP receiver on loopback."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
import requests
from django.conf import settings
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from tests.live import WorkerProcess, process_env, purge_test_broker, wait_until
from tests.messages.conftest import UNPACED, MessageWorkers, connect, phone
from tests.webhooks.receiver import Receiver
from whatsapp import audit, doorbell
from whatsapp.models import ApiKey, InboundMessage, OutboundMessage, WebhookDelivery
from whatsapp.models.media import WorkState
from whatsapp.services import webhook_endpoints

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

# Short retries, so a receiver that is down for a few seconds is retried several times.
RETRY_DELAYS = "0.3,0.5,1,1,1,1,1,1,1,1,1,1"


class HookWorkers(MessageWorkers):
    """The message workers and a worker on the `webhooks` queue, which can be killed."""

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(env)
        self.hooks = self._hooks_worker()

    def _hooks_worker(self) -> WorkerProcess:
        return WorkerProcess("webhooks", concurrency=2, env=self.env, name="hooks@%h")

    def start(self) -> HookWorkers:
        super().start()
        self.hooks.start()
        return self

    def output(self) -> str:
        return super().output() + self.hooks.output()[-3000:]

    def stop(self) -> None:
        super().stop()
        self.hooks.stop()


@pytest.fixture(scope="module")
def workers(django_db_setup: None, live_server: Any) -> Iterator[HookWorkers]:
    env = process_env(
        WHATSAPP_PUBLIC_URL=live_server.url,
        WPPCONNECT_READ_TIMEOUT="5",
        WPPCONNECT_SESSION_TIMEOUT="5",
        WHATSAPP_WEBHOOK_ALLOW_PRIVATE="true",
        WHATSAPP_WEBHOOK_RETRY_DELAYS=RETRY_DELAYS,
    )
    running = HookWorkers(env).start()
    yield running
    running.stop()
    purge_test_broker()


@pytest.fixture(autouse=True)
def _quiet_workers_before_flush(workers):
    """The database is truncated after each test; workers busy there could deadlock it."""
    yield
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    wait_until(
        lambda: (
            all(broker.llen(queue) == 0 for queue in ("default", "messages", "webhooks"))
            and not WebhookDelivery.objects.filter(state=WorkState.RUNNING).exists()
        ),
        timeout=20,
    )
    time.sleep(0.5)


@pytest.fixture
def stack(workers, sim, make_instance):
    instance = make_instance("main", **UNPACED)
    connect(sim, instance, workers.env["WHATSAPP_PUBLIC_URL"])
    return workers, instance


@pytest.fixture
def key(db) -> str:
    row, key = ApiKey.create("events", scopes=["send", "read", "webhooks"])
    ApiKey.objects.filter(pk=row.pk).update(rate_limit=0)
    return key


def send_rest(live_server: Any, key: str, n: int, text: str, metadata: dict) -> str:
    answer = requests.post(
        f"{live_server.url}/api/v1/messages",
        json={"to": phone(n), "text": text, "metadata": metadata},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def add_endpoint(live_server: Any, key: str, url: str, **fields: Any) -> dict:
    answer = requests.post(
        f"{live_server.url}/api/v1/webhooks",
        json={"url": url, **fields},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def statuses_by_message(received: list) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = defaultdict(list)
    for request in received:
        event = request.event
        if event["type"] == "message.status":
            seen[event["data"]["id"]].append(event["data"]["status"])
    return dict(seen)


def test_a_message_sent_through_the_api_raises_sent_delivered_read_once_per_endpoint(
    stack, sim, live_server, key
):
    workers, _instance = stack
    first, second = Receiver().start(), Receiver().start()
    try:
        secrets = {
            first.url: add_endpoint(live_server, key, first.url)["secret"],
            second.url: add_endpoint(live_server, key, second.url, events=["message.status"])[
                "secret"
            ],
        }
        sim.set_acks(delivered_after=0.3, read_after=0.6)
        message_id = send_rest(live_server, key, 1, "events e2e", {"order": "A-1", "n": 7})
        for receiver in (first, second):
            ok = wait_until(lambda r=receiver: len(r.accepted()) >= 3, timeout=30, interval=0.1)
            assert ok, (statuses_by_message(receiver.accepted()), workers.output())
        time.sleep(1.0)  # anything sent twice would arrive by now
        for receiver in (first, second):
            received = receiver.accepted()
            assert statuses_by_message(received) == {message_id: ["sent", "delivered", "read"]}
            ids = [r.headers["webhook-id"] for r in received]
            assert len(set(ids)) == len(ids) == 3
            for request in received:
                event = Webhook(secrets[receiver.url]).verify(request.body, request.headers)
                assert event["data"]["metadata"] == {"order": "A-1", "n": 7}
                assert event["instance"] == "main"
        # The same event went to both endpoints under one id.
        assert {r.headers["webhook-id"] for r in first.accepted()} == {
            r.headers["webhook-id"] for r in second.accepted()
        }
    finally:
        first.stop()
        second.stop()


def test_an_incoming_message_raises_message_received(stack, sim, live_server, key, receiver):
    workers, instance = stack
    secret = add_endpoint(live_server, key, receiver.url, events=["message.received"])["secret"]
    sim.incoming(instance.session_name, phone(5), "olá, quero saber do pedido")
    ok = wait_until(lambda: len(receiver.accepted()) == 1, timeout=30, interval=0.1)
    assert ok, workers.output()
    (request,) = receiver.accepted()
    event = Webhook(secret).verify(request.body, request.headers)
    row = InboundMessage.objects.get()
    assert event["type"] == "message.received"
    assert event["data"]["id"] == str(row.pk)
    assert event["data"]["text"] == "olá, quero saber do pedido"


def test_a_receiver_failing_for_a_while_gets_every_event_once_in_order(
    stack, sim, live_server, key, receiver
):
    workers, _instance = stack
    add_endpoint(live_server, key, receiver.url, events=["message.status"])
    receiver.status = 500
    sim.set_acks(delivered_after=0.2, read_after=0.4)
    ids = [send_rest(live_server, key, n, f"outage {n}", {"n": n}) for n in range(1, 4)]
    read = wait_until(
        lambda: OutboundMessage.objects.filter(status="read").count() == 3, timeout=30
    )
    assert read, workers.output()
    refused = wait_until(lambda: len(receiver.requests) >= 6, timeout=20, interval=0.1)
    assert refused, workers.output()
    receiver.status = 200
    done = wait_until(lambda: len(receiver.accepted()) >= 9, timeout=60, interval=0.2)
    assert done, (statuses_by_message(receiver.accepted()), workers.output())
    time.sleep(1.0)
    received = receiver.accepted()
    assert statuses_by_message(received) == {i: ["sent", "delivered", "read"] for i in ids}
    event_ids = Counter(r.headers["webhook-id"] for r in received)
    assert len(event_ids) == 9 and max(event_ids.values()) == 1
    assert not WebhookDelivery.objects.exclude(state=WorkState.DONE).exists()


def test_deliveries_pending_when_redis_is_wiped_still_arrive_through_the_sweep(
    stack, sim, live_server, key, receiver
):
    workers, _instance = stack
    add_endpoint(live_server, key, receiver.url, events=["message.status"])
    receiver.status = 503
    sim.set_acks(delivered_after=0.2, read_after=0.4)
    ids = [send_rest(live_server, key, n, f"wiped {n}", {"n": n}) for n in range(1, 3)]
    read = wait_until(
        lambda: OutboundMessage.objects.filter(status="read").count() == 2, timeout=30
    )
    assert read, workers.output()
    assert wait_until(lambda: len(receiver.requests) >= 2, timeout=20, interval=0.1)
    # Every doorbell is lost: the webhooks worker (and the countdowns it held) killed, Redis
    # wiped; then the worker comes back and the receiver recovers.
    workers.hooks.kill9()
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    receiver.status = 200
    workers.hooks = workers._hooks_worker().start()
    pending = WebhookDelivery.objects.exclude(state=WorkState.DONE)
    assert pending.exists()
    time.sleep(2.0)
    assert len(receiver.accepted()) < 6  # nothing rings them but the sweep
    # As if a while had passed: beat's sweep (on the housekeeping worker) rings them again.
    WebhookDelivery.objects.update(updated_at=timezone.now() - timedelta(minutes=5))
    doorbell.publish("whatsapp.housekeeping.sweep", ())
    done = wait_until(lambda: len(receiver.accepted()) >= 6, timeout=60, interval=0.2)
    assert done, (list(pending.values("state", "attempts", "error")), workers.output())
    time.sleep(1.0)
    received = receiver.accepted()
    assert statuses_by_message(received) == {i: ["sent", "delivered", "read"] for i in ids}
    assert len({r.headers["webhook-id"] for r in received}) == len(received) == 6


def test_a_test_event_from_the_command_side_reaches_the_receiver(stack, receiver):
    workers, _instance = stack
    row, secret = webhook_endpoints.create(audit.PYTHON, url=receiver.url)
    webhook_endpoints.send_test(row)
    assert wait_until(lambda: len(receiver.accepted()) == 1, timeout=20), workers.output()
    (request,) = receiver.accepted()
    assert Webhook(secret).verify(request.body, request.headers)["type"] == "webhook.test"
