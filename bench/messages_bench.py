"""Message queue benchmark: enqueue latency and drain throughput, each beside bare Celery.

    createdb -h 127.0.0.1 -U postgres bench_msg   # once
    DEBUG=true DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/bench_msg \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/14 CACHE_URL=redis://127.0.0.1:6379/15 \\
    .venv/bin/python bench/messages_bench.py [--enqueue 500] [--drain 300]

Runs its own simulator and worker processes (default + messages, concurrency 4) on the given
database and broker. It empties that broker database and the message tables: never point it at
data you care about.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leguas.settings")

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from tests.live import WorkerProcess, process_env, wait_until  # noqa: E402
from whatsapp import api  # noqa: E402
from whatsapp.models import ApiKey, Instance, OutboundMessage  # noqa: E402
from whatsapp.services.gateway import client_for  # noqa: E402
from whatsapp.simulator.testing import start_simulator  # noqa: E402
from worker.celery import app  # noqa: E402

SECRET = "bench-secret"


def phone(n: int) -> str:
    return f"5521987{n:06d}"


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    total = sum(ordered)
    return {
        "p50_ms": round(q[49] * 1000, 2),
        "p95_ms": round(q[94] * 1000, 2),
        "p99_ms": round(q[98] * 1000, 2),
        "per_s": round(len(ordered) / total, 1),
    }


def timed(n: int, call: Callable[[int], object]) -> dict[str, float]:
    samples = []
    for i in range(n):
        started = time.perf_counter()
        call(i)
        samples.append(time.perf_counter() - started)
    return percentiles(samples)


def reset(instance: Instance, *, connected: bool) -> None:
    OutboundMessage.objects.all().delete()
    Instance.objects.filter(pk=instance.pk).update(connected=connected, next_send_at=None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--enqueue", type=int, default=500)
    parser.add_argument("--drain", type=int, default=300)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    sim = start_simulator(SECRET, auto_close=600, init_delay=0.05)
    sim.set_acks(None, None)
    OutboundMessage.objects.filter(instance__slug="bench").delete()
    Instance.objects.filter(slug="bench").delete()
    ApiKey.objects.filter(name="bench").delete()
    instance = Instance(
        slug="bench",
        name="Bench",
        session_name=f"bench-{uuid.uuid4().hex[:6]}",
        gateway_url=sim.url,
        is_default=not Instance.objects.filter(is_default=True).exists(),
        min_gap_seconds=0,
        max_gap_seconds=0,
        cap_per_minute=0,
        cap_per_hour=0,
        cap_per_day=0,
    )
    instance.secret_key = SECRET
    instance.save()
    client_for(instance).start_session()
    sim.wait_for_status(instance.session_name, "QRCODE")
    sim.scan(instance.session_name)
    sim.wait_for_status(instance.session_name, "CONNECTED")

    env = process_env(DATABASE_CONN_MAX_AGE=os.environ.get("BENCH_CONN_MAX_AGE", "60"))
    workers = [
        WorkerProcess("default", concurrency=2, env=env),
        WorkerProcess("messages", concurrency=4, env=env),
    ]
    for worker in workers:
        worker.args += ["--include", "bench.bare_tasks"]
        worker.start()
    results: dict[str, object] = {}
    try:
        time.sleep(3)
        # Enqueue: disconnected, so the dispatcher rings return at once and do not compete.
        reset(instance, connected=False)
        results["enqueue_python"] = timed(
            args.enqueue, lambda i: api.send_text(phone(i), f"py {i}", instance="bench")
        )
        reset(instance, connected=False)
        _row, key = ApiKey.create("bench")
        web = Client(HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_HOST="127.0.0.1")
        url = reverse("api-messages")

        def rest(i: int) -> None:
            body = json.dumps({"to": phone(i), "text": f"rest {i}", "instance": "bench"})
            response = web.post(url, data=body, content_type="application/json")
            assert response.status_code == 201, response.content

        results["enqueue_rest"] = timed(args.enqueue, rest)
        payload = {"to": phone(1), "text": "bare", "instance": "bench", "priority": "normal"}
        results["enqueue_bare_celery"] = timed(
            args.enqueue, lambda i: app.send_task("bench.noop", args=[payload])
        )

        # Drain, pacing off: queued rows, then one ring.
        reset(instance, connected=False)
        for i in range(args.drain):
            api.send_text(phone(i), f"drain {i}", instance="bench")
        done = ("sent", "delivered", "read")
        # The enqueue phases left a backlog of doorbells; let it drain so both runs start equal.
        broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        wait_until(lambda: broker.llen("default") == 0, timeout=120, interval=0.1)
        time.sleep(1)
        Instance.objects.filter(pk=instance.pk).update(connected=True)
        started = time.perf_counter()
        api_ring = __import__("whatsapp.services.outbox", fromlist=["ring"]).ring
        api_ring(instance.pk)
        assert wait_until(
            lambda: OutboundMessage.objects.filter(status__in=done).count() >= args.drain,
            timeout=300,
            interval=0.05,
        )
        queue_s = time.perf_counter() - started
        before = len(sim.ledger(message="bare drain"))
        started = time.perf_counter()
        for i in range(args.drain):
            app.send_task(
                "bench.bare_send", args=[instance.pk, phone(i), f"bare drain {i}"], queue="messages"
            )
        assert wait_until(
            lambda: len(sim.ledger(message="bare drain")) - before >= args.drain,
            timeout=300,
            interval=0.05,
        )
        bare_s = time.perf_counter() - started
        results["drain_queue_per_s"] = round(args.drain / queue_s, 1)
        results["drain_bare_celery_per_s"] = round(args.drain / bare_s, 1)
        results["drain_ratio"] = round(queue_s and bare_s / queue_s, 2)
    finally:
        for worker in workers:
            worker.stop()
        sim.stop()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
