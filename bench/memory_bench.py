"""Worker memory over a long drain: each worker process's resident memory over 10,000 sends.

    .venv/bin/python -m bench memory [--sends 10000] [--quick]

The messages are bulk-loaded as queued rows on one connected instance (pacing off), then one ring
starts the drain. Every half second the resident memory (VmRSS) of every pool process of the
`default` and `messages` workers is read beside the number sent so far.
"""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench import report  # noqa: E402
from bench.stack import standalone_django  # noqa: E402

standalone_django()

from bench.sending import Stack, phone, sending_stack  # noqa: E402
from whatsapp import doorbell  # noqa: E402
from whatsapp.models import OutboundMessage  # noqa: E402

RSS_MB = 150.0
GROWTH_MB = 5.0
DONE = ("sent", "delivered", "read")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def load(instance, count: int) -> None:  # type: ignore[no-untyped-def]
    for start in range(0, count, 5000):
        OutboundMessage.objects.bulk_create(
            OutboundMessage(
                id=uuid.uuid4(), instance=instance, recipient=phone(n), body=f"memory {n}"
            )
            for n in range(start, min(count, start + 5000))
        )


def drain(stack: Stack, count: int) -> list[tuple[int, dict[int, float]]]:
    """(sent so far, {pid: RSS MB}) every half second until every message is sent."""
    pids = [pid for group in stack.worker_pids().values() for pid in group]
    doorbell.publish(doorbell.DISPATCH, (stack.instance.pk,))
    samples = []
    deadline = time.monotonic() + max(600, count / 5)
    while time.monotonic() < deadline:
        sent = OutboundMessage.objects.filter(status__in=DONE).count()
        samples.append((sent, {pid: rss_mb(pid) for pid in pids}))
        if sent >= count:
            return samples
        time.sleep(0.5)
    raise RuntimeError(f"only {samples[-1][0]} of {count} sent in time")


def at(samples: list[tuple[int, dict[int, float]]], sent: int) -> dict[int, float]:
    return next(rss for done, rss in samples if done >= sent)


def main() -> int:
    parser = report.parser(__doc__)
    parser.add_argument("--sends", type=int, default=10_000)
    args = parser.parse_args()
    if args.quick:
        args.sends = 200
    with sending_stack() as stack:
        groups = stack.worker_pids()
        load(stack.instance, args.sends)
        started = time.monotonic()
        samples = drain(stack, args.sends)
        seconds = time.monotonic() - started
    start, half, end = samples[0][1], at(samples, args.sends // 2), samples[-1][1]
    peak = {pid: max(rss[pid] for _sent, rss in samples) for pid in start}
    rows = [
        f"| {queue} | {pid} | {start[pid]:.1f} | {half[pid]:.1f} | {end[pid]:.1f} | {peak[pid]:.1f}"
        f" | {end[pid] - half[pid]:+.1f} |"
        for queue, pids in groups.items()
        for pid in pids
    ]
    growth = max(end[pid] - half[pid] for pid in start)
    body = "\n".join(
        [
            f"{args.sends:,} messages bulk-loaded on one connected instance (pacing off), drained"
            f" by a `default` worker (2 processes) and a `messages` worker (4 processes) in"
            f" {seconds:.0f} s; resident memory of each pool process (MB):",
            "",
            "| worker | process | at the start | at half | at the end | peak | second half |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
            *rows,
        ]
    )
    targets = [
        report.at_most("worker-rss-peak", max(peak.values()), RSS_MB, "MB"),
        report.at_most("worker-rss-growth-second-half", growth, GROWTH_MB, "MB"),
    ]
    return report.finish("Worker memory", "memory", body, targets, quick=args.quick)


if __name__ == "__main__":
    raise SystemExit(main())
