"""Message queue benchmark: enqueue latency and drain throughput, each beside bare Celery.

    .venv/bin/python -m bench messages [--enqueue 500] [--drain 2000] [--rounds 3] [--quick]

Runs its own simulator and worker processes (default + messages, concurrency 4) on the bench
database and broker of bench/stack.py (BENCH_DATABASE_URL, BENCH_BROKER_URL, BENCH_CACHE_URL):
it empties them, so never point them at data you care about. Figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench import cpu, report, sqlcount  # noqa: E402
from bench.stack import empty_messages, standalone_django, worker_env  # noqa: E402

standalone_django()

import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from tests.live import WorkerProcess, wait_until  # noqa: E402
from whatsapp import api, doorbell  # noqa: E402
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
    empty_messages()
    status = "CONNECTED" if connected else "CLOSED"
    Instance.objects.filter(pk=instance.pk).update(
        connected=connected, status=status, next_send_at=None
    )


ENQUEUE_P95_MS = 15.0
DRAIN_RATIO = 0.8


def main() -> int:
    parser = report.parser(__doc__)
    parser.add_argument("--enqueue", type=int, default=500)
    parser.add_argument("--drain", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.quick:
        args.enqueue, args.drain, args.rounds = 20, 20, 1

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

    env = worker_env(DATABASE_CONN_MAX_AGE=os.environ.get("BENCH_CONN_MAX_AGE", "60"))
    workers = [
        WorkerProcess("default", concurrency=2, env=env),
        WorkerProcess("messages", concurrency=4, env=env),
    ]
    for worker in workers:
        worker.args += ["--include", "bench.bare_tasks,bench.sqlcount"]
        worker.start()
    results: dict[str, Any] = {}
    try:
        time.sleep(3)
        # Enqueue: disconnected, so the dispatcher rings return at once and do not compete.
        reset(instance, connected=False)
        results["enqueue_python"] = timed(
            args.enqueue, lambda i: api.send_text(phone(i), f"py {i}", instance="bench")
        )
        reset(instance, connected=False)
        row, key = ApiKey.create("bench")
        # A high-volume key: its rate check runs on every request but never refuses one.
        ApiKey.objects.filter(pk=row.pk).update(rate_limit=1_000_000, rate_burst=1_000_000)
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

        # Drain, pacing off, in alternating rounds so a passing load on the machine hits both.
        queue_rates, bare_rates = [], []
        for round_no in range(args.rounds):
            queue_s, bare_s = drain_round(instance, sim, args.drain, round_no, workers)
            queue_rates.append(args.drain / queue_s)
            bare_rates.append(args.drain / bare_s)
        queue_rate, bare_rate = statistics.median(queue_rates), statistics.median(bare_rates)
        results["drain_rounds"] = args.rounds
        results["drain_queue_per_s"] = round(queue_rate, 1)
        results["drain_bare_celery_per_s"] = round(bare_rate, 1)
        results["drain_ratio"] = round(queue_rate / bare_rate, 2)
        results["sql"] = SQL_COUNTS[-1]
        results["cpu"] = CPU_SPENT[-1]
        results["drain_ratios"] = [
            round(q / b, 2) for q, b in zip(queue_rates, bare_rates, strict=True)
        ]
    finally:
        for worker in workers:
            worker.stop()
        sim.stop()
    print(json.dumps(results, indent=2))
    targets = [
        report.at_most(
            "enqueue-test-client-p95", results["enqueue_rest"]["p95_ms"], ENQUEUE_P95_MS, "ms"
        ),
        report.at_least("drain-ratio-to-bare-celery", results["drain_ratio"], DRAIN_RATIO, "×"),
    ]
    body = describe(results, args.enqueue, args.drain)
    return report.finish("Message queue", "messages", body, targets, quick=args.quick)


# Per round, the SQL each task made during the queue's drain (bench/sqlcount.py).
SQL_COUNTS: list[dict[str, dict[str, int]]] = []


CPU_SPENT: list[dict[str, dict[str, float]]] = []


def drain_round(
    instance: Instance, sim: Any, drain: int, round_no: int, workers: list[Any]
) -> tuple[float, float]:
    """One timed drain through the queue, then the same sends as bare Celery tasks."""
    reset(instance, connected=False)
    for i in range(drain):
        api.send_text(phone(i), f"drain {round_no} {i}", instance="bench")
    done = ("sent", "delivered", "read")
    # Enqueueing left a backlog of doorbells; let it drain so both runs start equal.
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    wait_until(lambda: broker.llen("default") == 0, timeout=120, interval=0.1)
    time.sleep(1)
    broker.delete(sqlcount.KEY)
    Instance.objects.filter(pk=instance.pk).update(connected=True, status="CONNECTED")
    # Both sides wait on the simulator's count of sends, read from memory: a poll that costs
    # neither side anything (a COUNT of the table, or the ledger's JSON every 50 ms, did).
    base = sim.sends()
    cpu_before = cpu.snapshot(workers)
    started = time.perf_counter()
    doorbell.publish(doorbell.DISPATCH, (instance.pk,))
    assert wait_until(lambda: sim.sends() - base >= drain, timeout=300, interval=0.02)
    # Sent means recorded: the last outcomes are written a moment after their POST.
    assert wait_until(
        lambda: OutboundMessage.objects.filter(status__in=done).count() >= drain,
        timeout=30,
        interval=0.01,
    )
    queue_s = time.perf_counter() - started
    spent = {"queue": cpu.spent(cpu_before, cpu.snapshot(workers))}
    time.sleep(1)  # the last tasks' counts reach Redis after their outcome is written
    SQL_COUNTS.append(sqlcount.read(broker))
    base = sim.sends()
    cpu_before = cpu.snapshot(workers)
    started = time.perf_counter()
    for i in range(drain):
        app.send_task(
            "bench.bare_send",
            args=[instance.pk, phone(i), f"bare drain {round_no} {i}"],
            queue="messages",
        )
    assert wait_until(lambda: sim.sends() - base >= drain, timeout=300, interval=0.02)
    bare_s = time.perf_counter() - started
    spent["bare"] = cpu.spent(cpu_before, cpu.snapshot(workers))
    CPU_SPENT.append(spent)
    return queue_s, bare_s


def cpu_table(spent: dict[str, dict[str, float]], drain: int) -> list[str]:
    """CPU milliseconds per message by kind of process, during the last round's two drains."""
    groups = sorted(set(spent["queue"]) | set(spent["bare"]), key=lambda g: -spent["queue"][g])
    rows = [
        f"| {group} | {1000 * spent['queue'].get(group, 0) / drain:.2f} "
        f"| {1000 * spent['bare'].get(group, 0) / drain:.2f} |"
        for group in groups
    ]
    total = {side: 1000 * sum(spent[side].values()) / drain for side in ("queue", "bare")}
    return [
        "CPU time per message during the last round's two drains, by kind of process (`bench/cpu.py`,",
        "user + system from /proc; the bench process serves the simulator and polls for the end):",
        "",
        "| process | queue ms | bare Celery ms |",
        "| --- | ---: | ---: |",
        *rows,
        f"| all | {total['queue']:.2f} | {total['bare']:.2f} |",
    ]


def sql_table(counts: dict[str, dict[str, int]], drain: int) -> list[str]:
    """What each task did on PostgreSQL during the last round's drain, per message drained."""
    rows = []
    total_statements = total_trips = 0
    for task, c in sorted(counts.items()):
        trips = c["statements"] + 2 * c["transactions"]
        total_statements += c["statements"]
        total_trips += trips
        rows.append(
            f"| `{task}` | {c['tasks']} | {c['statements']} | {c['transactions']} "
            f"| {c['statements'] / drain:.2f} | {trips / drain:.2f} |"
        )
    return [
        f"SQL during the last round's drain of {drain} messages, counted in the workers"
        " (`bench/sqlcount.py`: statements through Django's execute wrappers, transactions by",
        "their COMMIT or ROLLBACK; round trips = statements + BEGIN and COMMIT of each transaction):",
        "",
        "| task | runs | statements | transactions | statements per message | round trips per message |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        *rows,
        f"| all | | {total_statements} | | {total_statements / drain:.2f} | {total_trips / drain:.2f} |",
    ]


def describe(results: dict[str, Any], enqueue: int, drain: int) -> str:
    rows = [
        ("Python API `api.send_text`", results["enqueue_python"]),
        (
            "REST `POST /api/v1/messages` (Django test client, API key auth)",
            results["enqueue_rest"],
        ),
        ("bare Celery `send_task` of the same payload", results["enqueue_bare_celery"]),
    ]
    lines = [
        "PostgreSQL and Redis local, the simulator in process, a `default` worker (2 processes)",
        "and a `messages` worker (4 processes), with the production settings (`DEBUG` off,",
        "`DATABASE_CONN_MAX_AGE=60`: a connection kept between tasks).",
        "",
        f"Enqueue, {enqueue} sequential calls each (every call its own transaction, ringing the",
        "dispatcher on commit; the instance disconnected so dispatching does not compete):",
        "",
        "| path | p50 ms | p95 ms | p99 ms | per second |",
        "| --- | ---: | ---: | ---: | ---: |",
        *[
            f"| {name} | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | {r['per_s']} |"
            for name, r in rows
        ],
        "",
        f"Drain, pacing off, {drain} queued messages to {drain} recipients, timed from one ring until",
        "all are sent (the simulator has taken every POST, and every outcome is written), beside",
        f"{drain} bare Celery tasks each making the same `send-message` POST, timed until the",
        "simulator has taken them all. Both sides poll the simulator's count of sends, in memory,",
        f"every 20 ms. {results['drain_rounds']} alternating rounds, medians shown (ratio per round:"
        f" {', '.join(str(r) for r in results['drain_ratios'])}):",
        "",
        "| path | messages per second |",
        "| --- | ---: |",
        f"| the queue (dispatch + claim + send + attempt row + outcome) | {results['drain_queue_per_s']} |",
        f"| bare Celery task doing the POST | {results['drain_bare_celery_per_s']} |",
        "",
        *sql_table(results["sql"], drain),
        "",
        *cpu_table(results["cpu"], drain),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
