"""End to end: real worker processes, the real Redis and PostgreSQL, the simulator."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
import redis
import requests
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from tests.live import WorkerProcess, wait_until
from tests.messages.conftest import UNPACED, connect, phone
from whatsapp import api
from whatsapp.models import ApiKey, Instance, MessageAttempt, OutboundMessage
from whatsapp.services import message_sweep
from whatsapp.tasks.housekeeping import sweep as sweep_all
from whatsapp.tasks.messages import dispatch_messages

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _quiet_workers_before_flush(msg_workers):
    """The database is truncated after each test; workers still busy there can deadlock it."""
    yield
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    wait_until(
        lambda: (
            broker.llen("default") == 0
            and broker.llen("messages") == 0
            and not OutboundMessage.objects.filter(status__in=["dispatched", "sending"]).exists()
        ),
        timeout=20,
    )
    time.sleep(0.5)


@pytest.fixture
def stack(msg_workers, sim, make_instance):
    instance = make_instance("main", **UNPACED)
    connect(sim, instance, msg_workers.env["WHATSAPP_PUBLIC_URL"])
    return msg_workers, instance


DONE = ("sent", "delivered", "read")


def count(**filters) -> int:
    return OutboundMessage.objects.filter(**filters).count()


def all_sent(n: int, timeout: float, workers) -> None:
    ok = wait_until(lambda: count(status__in=DONE) >= n, timeout=timeout, interval=0.2)
    assert ok, (
        dict(Counter(OutboundMessage.objects.values_list("status", flat=True))),
        workers.output(),
    )


def no_duplicates(sim, prefix: str, expected: int) -> None:
    bodies = Counter(entry["body"] for entry in sim.ledger(message=prefix))
    assert len(bodies) == expected
    assert max(bodies.values()) == 1, [b for b, n in bodies.items() if n > 1]


def test_each_entry_point_sends_once_and_reaches_read(stack, sim, live_server):
    workers, _instance = stack
    sim.set_acks(delivered_after=0.5, read_after=1.0)
    _row, key = ApiKey.create("e2e")
    api.send_text(phone(1), "entry python")
    response = requests.post(
        f"{live_server.url}/api/v1/messages",
        json={"to": f"+{phone(2)}", "text": "entry rest"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    call_command("whatsapp_send", phone(3), "entry command")
    ok = wait_until(lambda: count(status="read") == 3, timeout=30, interval=0.2)
    assert ok, (list(OutboundMessage.objects.values_list("status", "last_error")), workers.output())
    for text in ("entry python", "entry rest", "entry command"):
        assert len(sim.ledger(message=text)) == 1
    assert all(m.delivered_at and m.read_at for m in OutboundMessage.objects.all())


def test_fifty_concurrent_posts_with_one_key_make_one_message_and_one_send(stack, sim, live_server):
    workers, _instance = stack
    row, key = ApiKey.create("burst")
    ApiKey.objects.filter(pk=row.pk).update(rate_limit=0)  # 50 at once is this test's point
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "order-42"}
    body = {"to": phone(4), "text": "exactly once"}
    barrier = threading.Barrier(50)
    answers: list[requests.Response] = []

    def post() -> None:
        barrier.wait()
        url = f"{live_server.url}/api/v1/messages"
        # The test server's listen backlog is small: a reset connection is retried, which is what
        # an idempotency key is for.
        for _try in range(10):
            try:
                answers.append(requests.post(url, json=body, headers=headers, timeout=30))
                return
            except requests.ConnectionError:
                time.sleep(0.05)

    threads = [threading.Thread(target=post) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted({a.status_code for a in answers}) == [201]
    assert len({a.json()["id"] for a in answers}) == 1
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 49
    assert count() == 1
    all_sent(1, 20, workers)
    other = requests.post(
        f"{live_server.url}/api/v1/messages",
        json={**body, "text": "another text"},
        headers=headers,
        timeout=10,
    )
    assert other.status_code == 422
    time.sleep(1)
    assert len(sim.ledger(message="exactly once")) == 1


def test_pacing_holds_across_two_worker_processes(stack, sim):
    workers, instance = stack
    Instance.objects.filter(pk=instance.pk).update(
        min_gap_seconds=1.0, max_gap_seconds=1.0, cap_per_minute=12
    )
    extra = WorkerProcess("messages,default", concurrency=2, env=workers.env).start()
    try:
        with transaction.atomic():
            for n in range(30):
                api.send_text(phone(100 + n), f"paced {n}")
        assert wait_until(lambda: len(sim.ledger(message="paced")) >= 12, timeout=40)
        time.sleep(3)  # the cap must hold: nothing more within the minute
        sent = len(sim.ledger(message="paced"))
    finally:
        extra.stop()
    assert sent == 12
    # The gap runs from the end of one send to the start of the next. Measured with the
    # product's own timestamps: the simulator's are taken when its thread gets the CPU, which
    # on a loaded machine can be late for one send and on time for the next.
    tries = list(
        MessageAttempt.objects.filter(message__body__startswith="paced")
        .order_by("started_at")
        .values_list("started_at", "finished_at")
    )
    gaps = [
        (start - finished).total_seconds()
        for (_s, finished), (start, _f) in itertools.pairwise(tries)
    ]
    assert len(tries) == 12 and min(gaps) >= 1.0, gaps
    assert count(status="queued") == 18


def test_kill9_of_the_messages_worker_mid_burst_loses_nothing(stack, sim):
    workers, _instance = stack
    with transaction.atomic():
        for n in range(100):
            api.send_text(phone(200 + n), f"burst {n}")
    assert wait_until(lambda: count(status__in=DONE) >= 20, timeout=30, interval=0.02)
    workers.messages.kill9()
    in_flight = list(
        OutboundMessage.objects.filter(status__in=["dispatched", "sending"]).values_list(
            "pk", "status"
        )
    )
    sending_at_kill = sum(1 for _pk, status in in_flight if status == "sending")
    time.sleep(1)
    # The leases of the killed worker's messages run out (90 s in production; shortened here).
    OutboundMessage.objects.filter(pk__in=[pk for pk, _s in in_flight]).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    workers.restart_messages()
    sweep_all()
    all_sent(100, 60, workers)
    bodies = Counter(entry["body"] for entry in sim.ledger(message="burst"))
    assert len(bodies) == 100
    duplicates = sum(n - 1 for n in bodies.values())
    assert duplicates <= sending_at_kill


def test_a_flushed_broker_loses_no_message_and_sends_none_twice(stack, sim):
    workers, _instance = stack
    with transaction.atomic():
        for n in range(200):
            api.send_text(phone(400 + n), f"flush {n}")
    time.sleep(0.3)
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    waiting = count(status__in=["queued", "dispatched", "sending"])
    assert waiting > 0
    time.sleep(2)  # what the workers held in hand finishes
    OutboundMessage.objects.filter(status="dispatched").update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    sweep_all()
    all_sent(200, 90, workers)
    time.sleep(1)
    no_duplicates(sim, "flush", 200)


def test_dropped_connections_end_sent_with_no_duplicate(stack, sim):
    workers, _instance = stack
    sim.set_fault("send-message", drop_rate=0.1)
    with transaction.atomic():
        for n in range(40):
            api.send_text(phone(600 + n), f"drop {n}")
    all_sent(40, 60, workers)
    no_duplicates(sim, "drop", 40)


def test_5xx_for_a_while_then_recovery(stack, sim):
    workers, _instance = stack
    sim.set_fault("send-message", error_rate=1.0)
    with transaction.atomic():
        for n in range(5):
            api.send_text(phone(700 + n), f"fivexx {n}")
    assert wait_until(lambda: count(attempts__gte=1) == 5, timeout=20)
    sim.clear_faults()
    all_sent(5, 60, workers)
    no_duplicates(sim, "fivexx", 5)
    assert all(m.attempts >= 2 for m in OutboundMessage.objects.all())


def test_refused_connections_then_recovery(stack, sim):
    workers, _instance = stack
    sim.refuse(2.0)
    with transaction.atomic():
        for n in range(5):
            api.send_text(phone(800 + n), f"refused {n}")
    all_sent(5, 60, workers)
    no_duplicates(sim, "refused", 5)
    assert any(m.attempts >= 2 for m in OutboundMessage.objects.all())


def test_a_permanent_400_fails_at_once_with_no_retry(stack, sim):
    workers, _instance = stack
    sim.set_unknown_numbers([phone(900)])
    message = api.send_text(phone(900), "nobody there")
    assert wait_until(lambda: count(status="failed") == 1, timeout=20), workers.output()
    message.refresh_from_db()
    assert message.last_error == gettext("number is not on WhatsApp") and message.attempts == 1
    time.sleep(2)
    assert message.attempt_log.count() == 1


def test_a_disconnected_instance_holds_then_sends_after_reconnecting(
    msg_workers, sim, make_instance
):
    instance = make_instance("main", **UNPACED)
    with transaction.atomic():
        for n in range(3):
            api.send_text(phone(950 + n), f"held {n}")
    time.sleep(2)
    assert count(status="queued") == 3 and sim.ledger(message="held") == []
    connect(sim, instance, msg_workers.env["WHATSAPP_PUBLIC_URL"])
    dispatch_messages.delay()  # what the beat dispatcher does every few seconds
    all_sent(3, 30, msg_workers)
    no_duplicates(sim, "held", 3)


def test_expired_and_cancelled_messages_are_never_sent(msg_workers, sim, make_instance):
    instance = make_instance("main", **UNPACED)
    expiring = api.send_text(
        phone(980), "expiring", expires_at=timezone.now() + timedelta(seconds=1)
    )
    cancelled = api.send_text(phone(981), "cancelled")
    kept = api.send_text(phone(982), "kept")
    api.cancel(cancelled.pk)
    time.sleep(1.5)
    connect(sim, instance, msg_workers.env["WHATSAPP_PUBLIC_URL"])
    message_sweep.sweep()
    dispatch_messages.delay()
    all_sent(1, 30, msg_workers)
    time.sleep(1)
    assert OutboundMessage.objects.get(pk=expiring.pk).status == "expired"
    assert OutboundMessage.objects.get(pk=cancelled.pk).status == "cancelled"
    assert OutboundMessage.objects.get(pk=kept.pk).status in DONE
    assert sim.ledger(message="expiring") == [] and sim.ledger(message="cancelled") == []
