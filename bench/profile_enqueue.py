"""Where a REST enqueue's time goes: `POST /api/v1/messages` under cProfile, beside the floor.

    .venv/bin/python -m bench.profile_enqueue [--requests 500] [--plain]

In this process, through Django's request handler (the test client: no HTTP, no gunicorn) with
the production settings (DEBUG off, the production middleware), on the bench database: the
cumulative time of each stage per request, and the same for the floor view (bench/floor.py).
`--plain` times the same requests without the profiler, product and floor alternating in rounds,
for a figure cProfile does not inflate. Not a part of `make bench`: the evidence for what limits
the REST enqueue, in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import secrets
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.stack import BENCH_BROKER, BENCH_CACHE, BENCH_DB, prepare_database  # noqa: E402

os.environ.update(
    DJANGO_SETTINGS_MODULE="bench.settings",
    DEBUG="false",
    SECRET_KEY=secrets.token_urlsafe(50),
    ALLOWED_HOSTS="testserver",
    WPPCONNECT_SECRET_KEY=secrets.token_urlsafe(24),
    WHATSAPP_ENCRYPTION_KEY=secrets.token_urlsafe(32),
    WHATSAPP_PUBLIC_URL="https://testserver",
    SECURE_PROXY_SSL_HEADER="true",
    DATABASE_URL=BENCH_DB,
    CELERY_BROKER_URL=BENCH_BROKER,
    CACHE_URL=BENCH_CACHE,
    DATABASE_CONN_MAX_AGE="60",
    LOG_LEVEL="WARNING",
)
prepare_database()

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.test import Client  # noqa: E402

from bench.web import instance_and_key  # noqa: E402

# (label, file suffix, function name): the stages of a request, by the function that does each.
STAGES = [
    ("whole request (Django handler, middleware, ninja)", "core/handlers/base.py", "get_response"),
    (
        "API key and rate limit (`rest/auth.py` authenticate)",
        "whatsapp/rest/auth.py",
        "authenticate",
    ),
    ("of which one Redis call (`ratelimit.hit`)", "whatsapp/ratelimit.py", "hit"),
    ("of which the key's `SELECT` (`lookups.load_key`)", "whatsapp/lookups.py", "load_key"),
    ("body parsed into the schema (ninja)", "ninja/operation.py", "_get_values"),
    (
        "validation, instance remembered (`message_requests.validate`)",
        "message_requests.py",
        "validate",
    ),
    ("instance `SELECT` (`services/instances.get_instance`)", "instances.py", "get_instance"),
    ("the INSERT (`outbox._insert`)", "whatsapp/services/outbox.py", "_insert"),
    ("doorbell ring: a `SET NX` (`_publish_pending`)", "whatsapp/doorbell.py", "_publish_pending"),
    ("of which Celery `send_task` (when no ring waits)", "whatsapp/doorbell.py", "publish"),
    ("answer body (`message_json`)", "message_json.py", "message_json"),
    ("floor view (bench/floor.py enqueue)", "bench/floor.py", "enqueue"),
]


def body(n: int) -> str:
    return json.dumps({"to": f"5521987{n % 1_000_000:06d}", "text": f"p {n}", "instance": "bench"})


def profile(client: Client, path: str, requests: int, offset: int) -> tuple[float, pstats.Stats]:
    for n in range(20):  # warm
        client.post(path, data=body(offset + n), content_type="application/json")
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for n in range(requests):
        response = client.post(path, data=body(offset + 100 + n), content_type="application/json")
        assert response.status_code == 201, response.content
    profiler.disable()
    return (time.perf_counter() - started) * 1000 / requests, pstats.Stats(profiler)


def plain(product: Client, floor: Client, requests: int) -> None:
    """ms per request without the profiler, median of 5 alternating rounds of each."""
    sides = {"product": (product, "/api/v1/messages"), "floor": (floor, "/bench/floor/enqueue")}
    times: dict[str, list[float]] = {name: [] for name in sides}
    offset = 0
    for _round in range(5):
        for name, (client, path) in sides.items():
            started = time.perf_counter()
            for _n in range(requests):
                offset += 1
                response = client.post(path, data=body(offset), content_type="application/json")
                assert response.status_code == 201, response.content
            times[name].append((time.perf_counter() - started) * 1000 / requests)
    print(f"{requests} requests per side and round, 5 rounds; ms per request, median (rounds):")
    for name, rounds in times.items():
        shown = ", ".join(f"{t:.2f}" for t in rounds)
        print(f"- {name}: {statistics.median(rounds):.2f} ({shown})")


def stage_ms(stats: pstats.Stats, suffix: str, name: str, requests: int) -> float | None:
    found = [
        cumulative
        for (filename, _line, function), (
            _cc,
            _nc,
            _tt,
            cumulative,
            _callers,
        ) in stats.stats.items()  # type: ignore[attr-defined]
        if filename.endswith(suffix) and function == name
    ]
    return max(found) * 1000 / requests if found else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--plain", action="store_true", help="time without the profiler")
    args = parser.parse_args()
    instance, key = instance_and_key()
    settings.BENCH_FLOOR_INSTANCE = instance.pk
    product = Client(HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_X_FORWARDED_PROTO="https")
    floor = Client(HTTP_X_FORWARDED_PROTO="https")
    if args.plain:
        plain(product, floor, args.requests)
        return
    product_ms, product_stats = profile(product, "/api/v1/messages", args.requests, 0)
    floor_ms, floor_stats = profile(floor, "/bench/floor/enqueue", args.requests, 500_000)
    print(f"Profiled {args.requests} requests each; ms per request, cumulative, under cProfile:")
    print()
    print("| stage | product | floor |")
    print("| --- | ---: | ---: |")
    print(f"| wall time per request | {product_ms:.2f} | {floor_ms:.2f} |")
    for label, suffix, name in STAGES:
        cells = []
        for stats in (product_stats, floor_stats):
            ms = stage_ms(stats, suffix, name, args.requests)
            cells.append("" if ms is None else f"{ms:.2f}")
        print(f"| {label} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
