"""Fault suite scenario 9, short: two beat processes at once never take two health samples in
one period, and no message is sent twice."""

from __future__ import annotations

import itertools
import subprocess
import sys
import uuid
from collections import Counter

import pytest
from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from tests.live import BASE_DIR, WorkerProcess, process_env, purge_test_broker, wait_until
from tests.messages.conftest import UNPACED, connect, phone
from whatsapp import api
from whatsapp.beat import RECORD_HEALTH, ensure_schedule
from whatsapp.models import HealthSample, OutboundMessage

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

PERIOD = 3
SAMPLES = 5
MESSAGES = 30


def start_beat() -> tuple[subprocess.Popen[bytes], object]:
    log = BASE_DIR / "var" / "test-logs" / f"beat-{uuid.uuid4().hex[:8]}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    handle = log.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "worker", "beat", "--loglevel", "INFO"],
        cwd=BASE_DIR,
        env=process_env(),
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    return proc, handle


def test_two_beats_take_one_health_sample_per_period_and_send_each_message_once(sim, make_instance):
    instance = make_instance("main", **UNPACED)
    connect(sim, instance)
    ensure_schedule()  # the schedule rows went with an earlier test's truncation
    every, _ = IntervalSchedule.objects.get_or_create(every=PERIOD, period="seconds")
    PeriodicTask.objects.filter(task=RECORD_HEALTH).update(interval=every, expire_seconds=PERIOD)
    worker = WorkerProcess("housekeeping,default,messages", concurrency=3).start()
    beats = [start_beat(), start_beat()]
    try:
        with transaction.atomic():
            for n in range(MESSAGES):
                api.send_text(phone(950 + n), f"twobeats {n}")
        samples = HealthSample.objects.filter(instance=instance)
        assert wait_until(lambda: samples.count() >= SAMPLES, 90), worker.output()[-3000:]
        done = OutboundMessage.objects.filter(status__in=["sent", "delivered", "read"])
        assert wait_until(lambda: done.count() == MESSAGES, 60)
    finally:
        for proc, handle in beats:
            proc.terminate()
            proc.wait(15)
            handle.close()  # type: ignore[attr-defined]
        worker.stop()
        purge_test_broker()
    times = sorted(samples.values_list("at", flat=True))
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.6 * PERIOD, gaps
    bodies = Counter(entry["body"] for entry in sim.ledger(message="twobeats "))
    assert len(bodies) == MESSAGES and max(bodies.values()) == 1
