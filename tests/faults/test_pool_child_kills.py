"""Fault suite scenario 1, short: a pool child of the messages worker killed (SIGKILL) inside a
gateway call, five times in a row; every message is sent, none twice."""

from __future__ import annotations

import os
import signal
from collections import Counter
from pathlib import Path

import pytest
from django.db import transaction

from tests.live import WorkerProcess, purge_test_broker, wait_until
from tests.messages.conftest import UNPACED, connect, phone
from whatsapp import api
from whatsapp.models import MessageAttempt, OutboundMessage
from whatsapp.services import sweeps

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

# Enough to keep every child inside a call (0.5 s each) through five kills and their
# replacements on a busy machine: with fewer, the backlog could drain before the last kill.
MESSAGES = 200
KILLS = 5


def children(worker: WorkerProcess) -> list[int]:
    assert worker.proc is not None
    path = Path(f"/proc/{worker.proc.pid}/task/{worker.proc.pid}/children")
    try:
        return [int(pid) for pid in path.read_text().split()]
    except OSError:
        return []


def sending_child(worker: WorkerProcess) -> int | None:
    """A pool child whose attempt row says it is inside a gateway call now."""
    calls = MessageAttempt.objects.filter(outcome="sending").values_list("worker", flat=True)
    pids = {int(w.rsplit(":", 1)[1]) for w in calls if w.rsplit(":", 1)[-1].isdigit()}
    inside = sorted(pids & set(children(worker)))
    return inside[0] if inside else None


def test_a_pool_child_killed_mid_send_five_times_loses_nothing_and_sends_nothing_twice(
    sim, make_instance
):
    instance = make_instance("main", **UNPACED)
    connect(sim, instance)
    sim.set_fault("send-message", latency=0.5)  # every send is in flight for a while
    housekeeping = WorkerProcess("default,housekeeping", concurrency=2).start()
    messages = WorkerProcess("messages", concurrency=3).start()
    try:
        with transaction.atomic():
            for n in range(MESSAGES):
                api.send_text(phone(800 + n), f"child {n}")
        for _kill in range(KILLS):
            assert wait_until(lambda: sending_child(messages), 60), messages.output()[-3000:]
            victim = sending_child(messages)
            if victim is None:  # its call ended between the two looks: catch another
                continue
            os.kill(victim, signal.SIGKILL)
            replaced = lambda v=victim: v not in children(messages) and len(children(messages)) == 3  # noqa: E731
            assert wait_until(replaced, 30), messages.output()[-3000:]
        sim.clear_faults()

        def settled() -> bool:
            sweeps.sweep_all()  # what beat's sweep does every 30 s
            done = OutboundMessage.objects.filter(status__in=["sent", "delivered", "read"])
            return done.count() == MESSAGES

        assert wait_until(settled, 180, interval=1), dict(
            Counter(OutboundMessage.objects.values_list("status", flat=True))
        )
    finally:
        messages.stop()
        housekeeping.stop()
        purge_test_broker()
    lost = MessageAttempt.objects.filter(outcome="lost").count()
    assert lost >= 1  # the kills did land inside gateway calls
    bodies = Counter(entry["body"] for entry in sim.ledger(message="child "))
    assert len(bodies) == MESSAGES
    assert max(bodies.values()) == 1, [body for body, n in bodies.items() if n > 1]
