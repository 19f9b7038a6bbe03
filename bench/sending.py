"""A connected instance on the simulator and real Celery workers, for the benches that send.

Call after `bench.stack.standalone_django()`: the bench database is emptied of instances and
messages first.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.stack import empty_messages

SECRET = "bench-secret"
UNPACED = {
    "min_gap_seconds": 0,
    "max_gap_seconds": 0,
    "cap_per_minute": 0,
    "cap_per_hour": 0,
    "cap_per_day": 0,
}


def phone(n: int) -> str:
    return f"5521987{n % 1_000_000:06d}"


@dataclass
class Stack:
    sim: Any
    instance: Any
    workers: list[Any]

    def worker_pids(self) -> dict[str, list[int]]:
        """Each worker's pool processes (the children of its main process), by queue."""
        pids: dict[str, list[int]] = {}
        for worker in self.workers:
            main = worker.proc.pid
            children = Path(f"/proc/{main}/task/{main}/children").read_text().split()
            pids[worker.args[worker.args.index("-Q") + 1]] = [int(pid) for pid in children]
        return pids


def connect_instance(sim: Any, slug: str = "bench", **fields: Any) -> Any:
    from whatsapp.models import Instance
    from whatsapp.services.gateway import client_for

    instance = Instance(
        slug=slug,
        name=slug,
        session_name=f"{slug}-{uuid.uuid4().hex[:6]}",
        gateway_url=sim.url,
        is_default=not Instance.objects.filter(is_default=True).exists(),
        **{**UNPACED, **fields},
    )
    instance.secret_key = SECRET
    instance.save()
    client_for(instance).start_session()
    sim.wait_for_status(instance.session_name, "QRCODE", timeout=30)
    sim.scan(instance.session_name)
    sim.wait_for_status(instance.session_name, "CONNECTED", timeout=30)
    Instance.objects.filter(pk=instance.pk).update(connected=True, status="CONNECTED")
    instance.refresh_from_db()
    return instance


@contextmanager
def sending_stack(
    *, messages: int = 4, default: int = 2, instances: int = 1, **fields: Any
) -> Iterator[Stack]:
    """The simulator, `instances` connected instances (the first as `stack.instance`) and a
    `default` and a `messages` worker, with the production connection age."""
    import redis
    from django.conf import settings

    from bench.stack import worker_env
    from tests.live import WorkerProcess
    from whatsapp.models import Instance
    from whatsapp.simulator.testing import start_simulator

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    empty_messages()
    Instance.objects.all().delete()
    sim = start_simulator(SECRET, auto_close=3600, init_delay=0.05)
    sim.set_acks(None, None)
    workers: list[Any] = []
    try:
        first = connect_instance(sim, **fields)
        for n in range(1, instances):
            connect_instance(sim, f"bench-{n}", **fields)
        env = worker_env(LOG_LEVEL="WARNING")
        workers = [
            WorkerProcess("default", concurrency=default, env=env),
            WorkerProcess("messages", concurrency=messages, env=env),
        ]
        for worker in workers:
            worker.start()
        stack = Stack(sim, first, workers)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                pids = stack.worker_pids()
            except (FileNotFoundError, ValueError):
                pids = {}
            if len(pids) == 2 and all(len(p) for p in pids.values()):
                break
            time.sleep(0.2)
        time.sleep(2)  # the pool processes finish importing the app
        yield stack
    finally:
        for worker in workers:
            worker.stop()
        sim.stop()
