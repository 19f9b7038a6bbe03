"""REST enqueue over real HTTP: `POST /api/v1/messages` through gunicorn, beside its floor.

    .venv/bin/python -m bench http [--seconds 10] [--rounds 2] [--concurrency 1 8 32] [--quick]
        [--workers 3 --threads 8]

One gunicorn (production settings: DEBUG off, the production middleware, HTTPS as a proxy in front
would say with X-Forwarded-Proto, a PostgreSQL connection kept per thread) serves both the product
and the floor: a bare Django view inserting one comparable row (bench/floor.py). A closed-loop load
generator (bench/load.py) drives each at 1, 8 and 32 concurrent connections, product and floor
alternating in rounds so a passing load on the machine hits both. Another `--workers` or
`--threads` than the bench's own is a look at that configuration: printed, not judged, and not
written to the docs.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench import cpu, report  # noqa: E402
from bench.load import LoadResult, run_load  # noqa: E402
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

P95_MS = 15.0
RATIO = 0.7
GUNICORN = "gunicorn (its processes)"
CPU_GROUPS = [GUNICORN, "PostgreSQL", "Redis", cpu.BENCH, "other"]


def message_body(n: int) -> bytes:
    return json.dumps(
        {"to": f"5521987{n % 1_000_000:06d}", "text": f"http {n}", "instance": "bench"}
    ).encode()


def main() -> int:
    parser = report.parser(__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--workers", type=int, default=WORKERS, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=THREADS, help="threads per process")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds, args.concurrency = 1.0, 1, [1, 8]
    instance, key = instance_and_key()
    port = free_port()
    procs = Processes()
    base = {"Content-Type": "application/json", **PROXY_HEADERS}
    paths = {
        "product": ("/api/v1/messages", {**base, "Authorization": f"Bearer {key}"}),
        "floor": ("/bench/floor/enqueue", base),
    }
    runs: dict[tuple[str, int], list[LoadResult]] = {}
    costs: dict[tuple[str, int], list[dict[str, float]]] = {}
    try:
        env = production_env(port, instance.pk)
        url = start_gunicorn(procs, port, env, args.workers, args.threads)
        gunicorn = {procs.procs[-1].pid: GUNICORN}
        for _round in range(args.rounds):
            for concurrency in args.concurrency:
                for name, (path, headers) in paths.items():
                    before = cpu.snapshot([], gunicorn)
                    result = run_load(
                        url + path,
                        body=message_body,
                        headers=headers,
                        concurrency=concurrency,
                        seconds=args.seconds,
                    )
                    spent = cpu.spent(before, cpu.snapshot([], gunicorn))
                    if result.errors:
                        raise RuntimeError(f"{name} at {concurrency}: answers {result.errors}")
                    runs.setdefault((name, concurrency), []).append(result)
                    costs.setdefault((name, concurrency), []).append(
                        {group: s * 1000 / max(result.answered, 1) for group, s in spent.items()}
                    )
                    time.sleep(0.5)
    finally:
        procs.stop()
    return judge(args, runs, costs)


def merged(results: list[LoadResult]) -> LoadResult:
    total = LoadResult(results[0].concurrency, sum(r.seconds for r in results))
    for r in results:
        total.latencies_ms.extend(r.latencies_ms)
    return total


def cpu_rows(costs: dict[tuple[str, int], list[dict[str, float]]], concurrency: int) -> list[str]:
    """ms of CPU per request by kind of process, product beside floor (medians of the rounds)."""
    rows = []
    for group in [*CPU_GROUPS, "all"]:
        cells = []
        for name in ("product", "floor"):
            rounds = costs[(name, concurrency)]
            per_round = [sum(r.values()) if group == "all" else r.get(group, 0.0) for r in rounds]
            cells.append(f"{statistics.median(per_round):.2f}")
        rows.append(f"| {group} | {cells[0]} | {cells[1]} |")
    return rows


def judge(args, runs, costs) -> int:  # type: ignore[no-untyped-def]
    figures = {key: merged(results).figures() for key, results in runs.items()}
    rows = []
    for concurrency in args.concurrency:
        product, floor = figures[("product", concurrency)], figures[("floor", concurrency)]
        ratio = product["per_s"] / floor["per_s"]
        for name, f in (("`POST /api/v1/messages`", product), ("floor: bare view, one row", floor)):
            rows.append(
                f"| {concurrency} | {name} | {f['n']} | {f['p50']} | {f['p95']} | {f['p99']} "
                f"| {f['per_s']} | {'' if f is floor else f'{ratio:.2f}'} |"
            )
    judged = 8 if 8 in args.concurrency else args.concurrency[-1]
    best_product = max(figures[("product", c)]["per_s"] for c in args.concurrency)
    best_floor = max(figures[("floor", c)]["per_s"] for c in args.concurrency)
    body = "\n".join(
        [
            f"gunicorn ({args.workers} processes × {args.threads} threads, gthread) with the"
            " production settings (`DEBUG=false`, the production middleware, HTTPS as a proxy's",
            "`X-Forwarded-Proto` says, `DATABASE_CONN_MAX_AGE=60`: a connection kept per thread),",
            "PostgreSQL and Redis on this machine, no worker consuming the rings. A closed-loop",
            f"load generator on loopback ({args.rounds} round(s) of {args.seconds:g} s per row,"
            " product and floor alternating) sends a text message to a new recipient each time,",
            "with an API key. The floor is a bare Django view in the same gunicorn inserting one",
            "`OutboundMessage` row (no key, no checks, no doorbell).",
            "",
            "| connections | path | requests | p50 ms | p95 ms | p99 ms | per second | × floor |",
            "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
            *rows,
            "",
            "Throughput is judged at each side's best concurrency.",
            "",
            f"CPU time per request at {judged} connections, by kind of process (`bench/cpu.py`,",
            "user + system from /proc over each run, warm-up included; medians of the rounds;",
            "the bench process is the load generator):",
            "",
            "| process | product ms | floor ms |",
            "| --- | ---: | ---: |",
            *cpu_rows(costs, judged),
        ]
    )
    targets = [
        report.at_most(
            f"rest-enqueue-p95-at-{judged}", figures[("product", judged)]["p95"], P95_MS, "ms"
        ),
        report.at_least("rest-enqueue-throughput-vs-floor", best_product / best_floor, RATIO, "×"),
    ]
    # Another configuration than the bench's own is only looked at, like a quick run.
    looked_at = args.quick or (args.workers, args.threads) != (WORKERS, THREADS)
    return report.finish("REST enqueue over HTTP", "http", body, targets, quick=looked_at)


if __name__ == "__main__":
    raise SystemExit(main())
