"""Outgoing events benchmark: latency from a status change to the receiver, and deliveries per
second with one webhooks worker.

    .venv/bin/python -m bench events [--latency 300] [--burst 2000] [--quick]

Status changes are made here through the one writer (`services/transitions.py`), each committed
on its own; a webhooks worker (one process group, `-c 4`) signs and posts each event to a receiver
on loopback, in this process. Uses the bench database and broker of bench/stack.py
(BENCH_DATABASE_URL, BENCH_BROKER_URL, BENCH_CACHE_URL): it empties them, so never point them at
data you care about. Figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench import report as report_lib  # noqa: E402
from bench.stack import standalone_django  # noqa: E402

standalone_django()

from django.db.models import Q  # noqa: E402

from tests.live import WorkerProcess, process_env, wait_until  # noqa: E402
from tests.webhooks.receiver import Receiver  # noqa: E402
from whatsapp import api, audit  # noqa: E402
from whatsapp.models import (  # noqa: E402
    Instance,
    OutboundMessage,
    WebhookDelivery,
    WebhookEndpoint,
)
from whatsapp.models.message import MessageStatus as S  # noqa: E402
from whatsapp.services import transitions, webhook_endpoints  # noqa: E402

P95_GOAL_MS = 1000.0
RATE_GOAL = 200.0
CONCURRENCY = 4


def phone(n: int) -> str:
    return f"5521987{n:06d}"


def percentile(samples: list[float], q: int) -> float:
    if len(samples) < 2:
        return samples[0] if samples else 0.0
    return statistics.quantiles(sorted(samples), n=100, method="inclusive")[q - 1]


def make_sent(instance: Instance, n: int, tag: str) -> list[Any]:
    """n messages already sent (no event: the endpoint is added after)."""
    ids = [api.send_text(phone(i), f"{tag} {i}", instance=instance.slug).pk for i in range(n)]
    where = Q(pk__in=ids)
    transitions.move_many(where, frm=S.QUEUED, to=S.DISPATCHED)
    transitions.move_many(where, frm=S.DISPATCHED, to=S.SENDING)
    transitions.move_many(where, frm=S.SENDING, to=S.SENT)
    return ids


def setup() -> tuple[Instance, Receiver]:
    OutboundMessage.objects.all().delete()
    WebhookEndpoint.objects.all().delete()
    Instance.objects.filter(slug="bench").delete()
    instance = Instance(
        slug="bench",
        name="Bench",
        session_name="bench-events",
        gateway_url="http://127.0.0.1:9",
        is_default=not Instance.objects.filter(is_default=True).exists(),
        connected=False,  # nothing is dispatched: the changes are made here
    )
    instance.save()
    return instance, Receiver().start()


def arrivals(receiver: Receiver, status: str) -> dict[str, float]:
    found: dict[str, float] = {}
    for request in receiver.accepted():
        event = request.event
        if event["type"] == "message.status" and event["data"]["status"] == status:
            found.setdefault(event["data"]["id"], request.at)
    return found


def add_endpoint(receiver: Receiver) -> None:
    endpoint, _secret = webhook_endpoints.create(audit.PYTHON, url=receiver.url)
    # The worker is up once a test event went through.
    webhook_endpoints.send_test(endpoint)
    assert wait_until(lambda: len(receiver.accepted()) >= 1, timeout=60)


def measure_latency(receiver: Receiver, ids: list[Any]) -> dict[str, float]:
    """One change at a time, ~20 per second: commit → the receiver has the event."""
    n = len(ids)
    changed: dict[str, float] = {}
    for message_id in ids:
        transitions.move(message_id, frm=S.SENT, to=S.DELIVERED)  # its own transaction
        changed[str(message_id)] = time.monotonic()
        time.sleep(0.05)
    assert wait_until(lambda: len(arrivals(receiver, "delivered")) >= n, timeout=120)
    got = arrivals(receiver, "delivered")
    samples = [(got[key] - at) * 1000 for key, at in changed.items()]
    return {
        "n": n,
        "p50_ms": round(percentile(samples, 50), 1),
        "p95_ms": round(percentile(samples, 95), 1),
        "max_ms": round(max(samples), 1),
    }


def measure_rate(receiver: Receiver, ids: list[Any]) -> dict[str, float]:
    """n changes committed at once (a bulk expiry does this), then drained by one worker."""
    n = len(ids)
    began = time.monotonic()
    transitions.move_many(Q(pk__in=ids), frm=S.SENT, to=S.READ)
    started = time.monotonic()  # committed: the doorbells ring now
    committed = started - began
    assert wait_until(lambda: len(arrivals(receiver, "read")) >= n, timeout=600, interval=0.25)
    last = max(arrivals(receiver, "read").values())
    seconds = last - started
    time.sleep(1)
    undone = WebhookDelivery.objects.exclude(state="done").count()
    return {
        "n": n,
        "seconds": round(seconds, 2),
        "commit_seconds": round(committed, 2),
        "per_s": round(n / seconds, 1),
        "not_done": undone,
    }


def main() -> int:
    parser = report_lib.parser(__doc__)
    parser.add_argument("--latency", type=int, default=300)
    parser.add_argument("--burst", type=int, default=2000)
    args = parser.parse_args()
    if args.quick:
        args.latency, args.burst = 50, 300
    instance, receiver = setup()
    # Sent before any endpoint exists: only the measured changes raise events.
    latency_ids = make_sent(instance, args.latency, "latency")
    burst_ids = make_sent(instance, args.burst, "burst")
    env = process_env(DATABASE_CONN_MAX_AGE="60", WHATSAPP_WEBHOOK_ALLOW_PRIVATE="true")
    worker = WorkerProcess("webhooks", concurrency=CONCURRENCY, env=env, name="bench-hooks@%h")
    worker.start()
    try:
        add_endpoint(receiver)
        results: dict[str, Any] = {
            "latency": measure_latency(receiver, latency_ids),
            "rate": measure_rate(receiver, burst_ids),
        }
    finally:
        worker.stop()
        receiver.stop()
        # The other parts measure the send path without events.
        WebhookEndpoint.objects.all().delete()
    p95, rate = results["latency"]["p95_ms"], results["rate"]["per_s"]
    targets = [
        report_lib.at_most("event-latency-p95", p95, P95_GOAL_MS, "ms"),
        report_lib.at_least("deliveries-per-second", rate, RATE_GOAL, "/s"),
    ]
    return report_lib.finish(
        "Outgoing events", "events", report(results), targets, quick=args.quick
    )


def report(results: dict[str, Any]) -> str:
    latency, rate = results["latency"], results["rate"]
    lines = [
        f"PostgreSQL and Redis local, one `webhooks` worker (`-c {CONCURRENCY}`),"
        " `DATABASE_CONN_MAX_AGE=60`, a receiver on loopback answering 200 at once (in the"
        " bench's process). Each change goes through `services/transitions.py`, which writes the"
        " delivery row in its transaction; the worker signs (Standard Webhooks) and posts it;"
        " a burst rings a few tasks per endpoint, each going on with the endpoint's due rows.",
        "",
        "| measure | value |",
        "| --- | ---: |",
        f"| latency, status change committed → receiver, p50 ({latency['n']} changes, one at a"
        f" time) | {latency['p50_ms']} ms |",
        f"| latency, p95 | {latency['p95_ms']} ms |",
        f"| latency, max | {latency['max_ms']} ms |",
        f"| deliveries per second ({rate['n']} changes committed at once, until the last one"
        f" arrived) | {rate['per_s']} |",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
