"""Latency from enqueue to the gateway call, on a connected instance with nothing else to send.

    .venv/bin/python -m bench latency [--samples 200] [--quick]

One message at a time through the Python API (`api.send_text`, its own transaction, ringing the
dispatcher on commit); the time until the simulator records the `send-message` call. The next
message waits until that one arrived and then a random 0 to 250 ms, so each finds the instance idle.
Pacing off: what is measured is the pipeline (commit, ring, dispatch, send task), not a gap.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench import report  # noqa: E402
from bench.stack import percentiles, standalone_django  # noqa: E402

standalone_django()

from bench.sending import phone, sending_stack  # noqa: E402
from whatsapp import api  # noqa: E402

P50_MS, P95_MS = 300.0, 1000.0


def one(sim, n: int) -> float:  # type: ignore[no-untyped-def]
    marker = f"latency {n} "
    started = time.time()
    api.send_text(phone(n), f"{marker}x", instance="bench")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        sends = sim.ledger(message=marker)
        if sends:
            return (sends[0]["t"] - started) * 1000
        time.sleep(0.005)
    raise RuntimeError(f"message {n} was not sent within 60 s")


def main() -> int:
    parser = report.parser(__doc__)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    if args.quick:
        args.samples = 5
    samples = []
    with sending_stack() as stack:
        for n in range(3):  # the first sends open connections and warm caches
            one(stack.sim, 1_000 + n)
        for n in range(args.samples):
            samples.append(one(stack.sim, n))
            time.sleep(random.uniform(0, 0.25))
    figures = percentiles(samples)
    body = "\n".join(
        [
            "The simulator in process, a `default` worker (2 processes) and a `messages` worker",
            "(4 processes), PostgreSQL and Redis on this machine, `DATABASE_CONN_MAX_AGE=60`.",
            f"{figures['n']} messages, one at a time, each on an idle connected instance (pacing"
            " off); from before `api.send_text` to the simulator's record of the gateway call:",
            "",
            "| samples | p50 ms | p95 ms | p99 ms | max ms |",
            "| ---: | ---: | ---: | ---: | ---: |",
            f"| {figures['n']} | {figures['p50']} | {figures['p95']} | {figures['p99']}"
            f" | {max(samples):.1f} |",
        ]
    )
    targets = [
        report.at_most("enqueue-to-gateway-p50", figures["p50"], P50_MS, "ms"),
        report.at_most("enqueue-to-gateway-p95", figures["p95"], P95_MS, "ms"),
    ]
    return report.finish("Latency to the gateway", "latency", body, targets, quick=args.quick)


if __name__ == "__main__":
    raise SystemExit(main())
