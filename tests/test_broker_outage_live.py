"""Workers survive Redis dropping and coming back under traffic (a Redis of the test's own).

Run with both values of `worker_cancel_long_running_tasks_on_connection_loss`: the chosen one
(False, leguas/settings.py) must keep its worker alive and never interrupt a send; the other is
measured alongside (its figures are printed and in docs/architecture.md, "Broker outages").
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
from django.db import transaction

from tests.live import WorkerProcess, process_env, wait_until
from tests.messages.conftest import UNPACED, connect, phone
from tests.redis_process import RedisProcess
from whatsapp import api, doorbell
from whatsapp.models import MessageAttempt, OutboundMessage
from whatsapp.models.message import AttemptOutcome
from whatsapp.services import sweeps

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

MESSAGES = 40
RESTARTS = 3
DONE = ("sent", "delivered", "read")


@pytest.fixture
def own_redis(monkeypatch):
    server = RedisProcess().start()
    monkeypatch.setenv("CELERY_BROKER_URL", server.url)  # this process publishes there too
    doorbell.reset()
    yield server
    server.stop()
    doorbell.reset()


def logged_since(worker: WorkerProcess, offset: int, *lines: str) -> bool:
    """One of `lines` is in the worker's log after `offset` (a length of its earlier output).

    Counting lines instead miscounts: one outage can log a loss, a reconnect that the stopping
    server cuts, and several failed tries.
    """
    tail = worker.output()[offset:]
    return any(line in tail for line in lines)


LOST = ("Connection to broker lost", "consumer: Cannot connect to")
# How long Redis stays down at most, waiting for the worker to log the loss. It may not log it at
# all, most likely while a publish that kombu retries until the broker is back (an event, a late
# ack, a start-up step's) holds the main process; it carries on when Redis returns.
NOTICE_WITHIN = 10


def down_until_noticed(worker: WorkerProcess, redis: RedisProcess) -> None:
    mark = len(worker.output())
    redis.stop()
    wait_until(lambda: logged_since(worker, mark, *LOST), NOTICE_WITHIN, interval=0.01)


def answers_ping(broker_url: str) -> bool:
    """The worker consumes again: its remote-control consumer answers a ping.

    Its log cannot tell: a drop right after "Connected to" is retried inside a later start-up
    step, which reconnects without another "Connected to". A Celery app of its own, since the
    current app's producer pool stays bound to the broker it first saw (an earlier test's Redis).
    """
    from celery import Celery

    app = Celery("ping", broker=broker_url, set_as_current=False)
    errors = app.connection_for_write().connection_errors  # the transport's; nothing connects
    try:
        return bool(app.control.ping(timeout=1))
    except errors:
        return False
    finally:
        app.close()


def in_flight() -> bool:
    if OutboundMessage.objects.filter(status="sending").exists():
        return True
    sweeps.sweep_all()  # the restarted Redis lost every doorbell: beat's sweep rings again
    return False


@pytest.mark.parametrize("cancel_on_loss", [False, True], ids=["chosen", "cancel-on-loss"])
def test_workers_survive_redis_restarts_under_traffic(
    cancel_on_loss, own_redis, sim, make_instance
):
    instance = make_instance("main", **UNPACED)
    connect(sim, instance)
    sim.set_fault("send-message", latency=1.0)  # sends are in flight when Redis goes
    overrides = {"CELERY_BROKER_URL": own_redis.url}
    if cancel_on_loss:
        overrides["DJANGO_SETTINGS_MODULE"] = "tests.settings_cancel_on_loss"
    worker = WorkerProcess("messages,default", concurrency=4, env=process_env(**overrides))
    worker.start()
    started = time.monotonic()
    restarts = 0
    try:
        assert wait_until(lambda: "ready." in worker.output(), 60), worker.output()
        with transaction.atomic():
            for n in range(MESSAGES):
                api.send_text(phone(300 + n), f"outage {n}")
        for _drop in range(RESTARTS):
            assert wait_until(in_flight, 30, interval=0.5), worker.output()[-3000:]
            # Down until the worker has noticed (NOTICE_WITHIN at most), then back without its
            # data (no persistence).
            down_until_noticed(worker, own_redis)
            own_redis.start()
            doorbell.reset()
            if not wait_until(lambda: answers_ping(own_redis.url), 60, interval=0.5):
                # The chosen settings always come back; the other is measured, not relied on:
                # a worker that exited or hangs is started again, as compose and make run do.
                assert cancel_on_loss, worker.output()[-3000:]
                restarts += 1
                worker.kill9()
                worker.start()

        def settled() -> bool:
            sweeps.sweep_all()  # what beat's sweep does every 30 s
            return OutboundMessage.objects.filter(status__in=DONE).count() == MESSAGES

        recovered = wait_until(settled, 150, interval=2)
        alive = restarts == 0 and worker.proc is not None and worker.proc.poll() is None
    finally:
        worker.stop()
    took = time.monotonic() - started
    interrupted = MessageAttempt.objects.filter(
        outcome__in=[AttemptOutcome.UNKNOWN, AttemptOutcome.LOST]
    ).count()
    sends = Counter(entry["body"] for entry in sim.ledger(message="outage"))
    print(
        f"\ncancel_on_loss={cancel_on_loss}: worker alive={alive} (restarted {restarts}), "
        f"interrupted sends="
        f"{interrupted}, all sent={recovered} in {took:.0f} s, "
        f"duplicates={sum(n - 1 for n in sends.values())}"
    )
    assert recovered, dict(Counter(OutboundMessage.objects.values_list("status", flat=True)))
    assert len(sends) == MESSAGES and max(sends.values()) == 1
    if not cancel_on_loss:
        assert alive, worker.output()[-3000:]
        assert interrupted == 0


def test_worker_consumes_again_after_a_drop_during_its_reconnect(own_redis, sim, make_instance):
    """Redis drops again while the worker is still setting up after a reconnect (Celery's
    consumer steps after "Connected to"): the worker still comes back and sends (celery#8030 is
    this family of hangs)."""
    instance = make_instance("main", **UNPACED)
    connect(sim, instance)
    overrides = {"CELERY_BROKER_URL": own_redis.url}
    worker = WorkerProcess("messages,default", concurrency=2, env=process_env(**overrides))
    worker.start()
    try:
        assert wait_until(lambda: "ready." in worker.output(), 60), worker.output()
        for pause in (0.0, 0.02, 0.05):
            for again_at_once in (True, False):
                down_until_noticed(worker, own_redis)
                mark = len(worker.output())
                own_redis.start()
                # Drop again `pause` seconds after its "Connected to" (or, should a worker that
                # never saw the loss not reconnect, after a while).
                reconnecting = lambda at=mark: logged_since(worker, at, "Connected to")  # noqa: E731
                if again_at_once and wait_until(reconnecting, 15, interval=0.002):
                    time.sleep(pause)
            assert wait_until(lambda: answers_ping(own_redis.url), 60, interval=0.5), (
                worker.output()[-3000:]
            )
        doorbell.reset()
        api.send_text(phone(399), "after the drops")
        sent = lambda: OutboundMessage.objects.filter(status__in=DONE).exists()  # noqa: E731
        assert wait_until(sent, 60, interval=0.5), worker.output()[-3000:]
    finally:
        worker.stop()
