"""Fault suite scenario 2, short: every worker replaced and sent SIGTERM during a drain while a
session call hangs; the old workers finish what they hold, nothing is lost or sent twice, and the
session operation ends."""

from __future__ import annotations

import os
import signal
from collections import Counter

import pytest
from django.db import transaction

from tests.live import WorkerProcess, purge_test_broker, wait_until
from tests.messages.conftest import UNPACED, connect, phone
from whatsapp import api
from whatsapp.models import OutboundMessage, SessionOperation
from whatsapp.services import session_requests, sweeps

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

MESSAGES = 60
HANG = 8.0


def workers() -> list[WorkerProcess]:
    return [
        WorkerProcess("sessions", concurrency=1),
        WorkerProcess("messages", concurrency=3),
        WorkerProcess("default,housekeeping", concurrency=2),
    ]


def test_a_rolling_restart_mid_drain_loses_nothing_and_lets_the_session_call_finish(
    sim, make_instance
):
    instance = make_instance("main", **UNPACED)
    connect(sim, instance)
    other = make_instance("other", default=False)
    connect(sim, other)
    sim.set_fault("close-session", hang=HANG)
    sim.set_fault("send-message", latency=0.3)
    old = [w.start() for w in workers()]
    new: list[WorkerProcess] = []
    try:
        operation, _created = session_requests.request(other, "close")
        running = lambda: SessionOperation.objects.get(pk=operation.pk).status == "running"  # noqa: E731
        assert wait_until(running, 60), old[0].output()[-3000:]
        with transaction.atomic():
            for n in range(MESSAGES):
                api.send_text(phone(900 + n), f"rolling {n}")
        done = OutboundMessage.objects.filter(status__in=["sent", "delivered", "read"])
        assert wait_until(lambda: done.count() >= 10, 60), old[1].output()[-3000:]
        new = [w.start() for w in workers()]
        for worker in old:
            assert worker.proc is not None
            os.kill(worker.proc.pid, signal.SIGTERM)  # warm shutdown, as an orchestrator stops it
        for worker in old:
            assert worker.proc is not None
            worker.proc.wait(60)  # each finishes what it holds, the hanging call included
        sim.clear_faults()

        def settled() -> bool:
            sweeps.sweep_all()
            return done.count() == MESSAGES

        assert wait_until(settled, 120, interval=1), dict(
            Counter(OutboundMessage.objects.values_list("status", flat=True))
        )
        ended = lambda: SessionOperation.objects.get(pk=operation.pk).status == "succeeded"  # noqa: E731
        assert wait_until(ended, 30), SessionOperation.objects.get(pk=operation.pk).error
    finally:
        for worker in old + new:
            worker.stop()
        purge_test_broker()
    bodies = Counter(entry["body"] for entry in sim.ledger(message="rolling "))
    assert len(bodies) == MESSAGES
    assert max(bodies.values()) == 1, [body for body, n in bodies.items() if n > 1]
