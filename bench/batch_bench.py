"""Batch enqueue over real HTTP: `POST /api/v1/messages/batch` of 1,000 messages, beside its floor.

    .venv/bin/python -m bench batch [--size 1000] [--rounds 7] [--quick]

The same gunicorn as the REST enqueue bench (production settings, bench/web.py) serves the batch
route and the floor: a bare Django view that parses the same body and inserts the same rows with
one `bulk_create` (bench/floor.py). Product and floor alternate, one request at a time.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench import report  # noqa: E402
from bench.stack import Processes, free_port, standalone_django  # noqa: E402
from bench.web import (  # noqa: E402
    PROXY_HEADERS,
    THREADS,
    WORKERS,
    instance_and_key,
    production_env,
    start_gunicorn,
)

standalone_django()

import requests  # noqa: E402

SECONDS = 0.5
RATIO = 0.5


def batch_body(size: int, round_no: int) -> bytes:
    return json.dumps(
        {
            "messages": [
                {"to": f"5521987{n:06d}", "text": f"batch {round_no} {n}", "instance": "bench"}
                for n in range(size)
            ]
        }
    ).encode()


def timed_post(http: requests.Session, url: str, body: bytes, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    response = http.post(url, data=body, headers=headers, timeout=120)
    seconds = time.perf_counter() - started
    if response.status_code != 201:
        raise RuntimeError(f"{url}: {response.status_code} {response.text[:500]}")
    return seconds


def main() -> int:
    parser = report.parser(__doc__)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    if args.quick:
        args.size, args.rounds = 100, 2
    instance, key = instance_and_key()
    port = free_port()
    procs = Processes()
    base = {"Content-Type": "application/json", **PROXY_HEADERS}
    product_s: list[float] = []
    floor_s: list[float] = []
    try:
        url = start_gunicorn(procs, port, production_env(port, instance.pk))
        http = requests.Session()
        auth = {**base, "Authorization": f"Bearer {key}"}
        # Warm-up: imports, connections and caches of the worker threads are not measured.
        timed_post(http, f"{url}/api/v1/messages/batch", batch_body(10, -1), auth)
        timed_post(http, f"{url}/bench/floor/batch", batch_body(10, -1), base)
        for round_no in range(args.rounds):
            payload = batch_body(args.size, round_no)
            product_s.append(timed_post(http, f"{url}/api/v1/messages/batch", payload, auth))
            floor_s.append(timed_post(http, f"{url}/bench/floor/batch", payload, base))
    finally:
        procs.stop()
    product, floor = statistics.median(product_s), statistics.median(floor_s)
    ratio = floor / product
    body = "\n".join(
        [
            f"gunicorn ({WORKERS} processes × {THREADS} threads, gthread) with the production"
            " settings, PostgreSQL and Redis on this machine, no worker consuming the rings.",
            f"{args.rounds} rounds, each one batch of {args.size:,} text messages (new recipients,"
            " an API key) then the floor: the same body parsed by a bare Django view and inserted",
            "with one `bulk_create`. Medians (each round's seconds in brackets):",
            "",
            "| path | seconds per request | messages per second |",
            "| --- | ---: | ---: |",
            f"| `POST /api/v1/messages/batch` | {product:.3f} ({', '.join(f'{s:.3f}' for s in product_s)})"
            f" | {args.size / product:,.0f} |",
            f"| floor: bare view, one `bulk_create` | {floor:.3f} ({', '.join(f'{s:.3f}' for s in floor_s)})"
            f" | {args.size / floor:,.0f} |",
        ]
    )
    targets = [
        report.at_most(f"batch-{args.size}-seconds", product, SECONDS, "s"),
        report.at_least("batch-rate-vs-bulk-create", ratio, RATIO, "×"),
    ]
    return report.finish("Batch enqueue", "batch", body, targets, quick=args.quick)


if __name__ == "__main__":
    raise SystemExit(main())
