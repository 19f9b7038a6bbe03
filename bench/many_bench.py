"""Many numbers: 100 instances, each paced at 8 sends a minute, on one worker node.

    .venv/bin/python -m bench many [--instances 100] [--minutes 10] [--quick]

Each instance is a simulator session with a fixed 7.5 s gap after each send and a cap of 8 a
minute, and a backlog longer than the run. One `default` worker (2 processes) and one `messages`
worker (4 processes) drain them for `--minutes`. From the simulator's record of every gateway
call: how late each send was after the moment its pacing allowed (the previous send's call plus
the gap, so the figure slightly overstates it: the gap runs from the end of the send), and the
most sends any instance made in a 60 s window. The CPU and memory of every process are sampled;
a chart of sends per minute per instance goes to docs/benchmarks-many-numbers.png (with another
`--instances`, to its own section and chart, e.g. docs/benchmarks-many-numbers-300.png).
"""

from __future__ import annotations

import itertools
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench import report  # noqa: E402
from bench.stack import percentiles, standalone_django  # noqa: E402

standalone_django()

from bench.sending import Stack, phone, sending_stack  # noqa: E402
from whatsapp import doorbell  # noqa: E402
from whatsapp.models import Instance, OutboundMessage  # noqa: E402

GAP, CAP = 7.5, 8
LATE_P95_S = 1.0
DEFAULT_INSTANCES = 100
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def processes(stack: Stack) -> dict[str, int]:
    named = {"bench (simulator, sampling)": os.getpid()}
    for worker in stack.workers:
        queue = worker.args[worker.args.index("-Q") + 1]
        named[f"{queue} worker, main"] = worker.proc.pid
    for queue, pids in stack.worker_pids().items():
        for n, pid in enumerate(pids, 1):
            named[f"{queue} worker, process {n}"] = pid
    return named


def load(instances: list[Instance], per_instance: int) -> None:
    rows = [
        OutboundMessage(
            id=uuid.uuid4(),
            instance=instance,
            recipient=phone(i * 1000 + k),
            body=f"many {i} {k}",
        )
        for i, instance in enumerate(instances)
        for k in range(per_instance)
    ]
    OutboundMessage.objects.bulk_create(rows, batch_size=5000)


def run(stack: Stack, seconds: float) -> tuple[dict[str, tuple[float, float]], float]:
    """Ring every instance, let them send for `seconds`; each process's (CPU %, peak RSS MB)."""
    named = processes(stack)
    cpu0 = {name: cpu_seconds(pid) for name, pid in named.items()}
    peak = dict.fromkeys(named, 0.0)
    started = time.time()
    for instance in Instance.objects.all():
        doorbell.publish(doorbell.DISPATCH, (instance.pk,))
    while time.time() - started < seconds:
        for name, pid in named.items():
            peak[name] = max(peak[name], rss_mb(pid))
        time.sleep(min(5.0, max(0.1, seconds - (time.time() - started))))
    wall = time.time() - started
    usage = {
        name: (100 * (cpu_seconds(pid) - cpu0[name]) / wall, peak[name])
        for name, pid in named.items()
    }
    return usage, started


def judge_sends(sends: dict[str, list[float]]) -> tuple[list[tuple[float, float]], int]:
    """((when, how late) of each send after its allowed moment, s; the most sends in any 60 s)."""
    late: list[tuple[float, float]] = []
    most = 0
    for times in sends.values():
        times.sort()
        late += [(b, max(0.0, b - (a + GAP))) for a, b in itertools.pairwise(times)]
        for i, t in enumerate(times):
            most = max(most, sum(1 for u in times[i:] if u < t + 60))
    return late, most


def chart(sends: dict[str, list[float]], started: float, minutes: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    buckets = max(1, int(minutes + 0.999))
    figure, axes = pyplot.subplots(figsize=(9, 4.5), dpi=100)
    minutes_axis = range(1, buckets + 1)
    per_instance = []
    for times in sends.values():
        counts = [0] * buckets
        for t in times:
            minute = int((t - started) // 60)
            if 0 <= minute < buckets:
                counts[minute] += 1
        per_instance.append(counts)
        axes.plot(minutes_axis, counts, color="tab:blue", alpha=0.08, linewidth=1)
    columns = list(zip(*per_instance, strict=True)) if per_instance else []
    if columns:
        axes.fill_between(
            minutes_axis,
            [min(c) for c in columns],
            [max(c) for c in columns],
            color="tab:blue",
            alpha=0.15,
            label="fewest to most, across instances",
        )
        axes.plot(
            minutes_axis,
            [sum(c) / len(c) for c in columns],
            color="black",
            linewidth=2,
            label="mean per instance",
        )
    axes.axhline(CAP, color="tab:red", linestyle="--", linewidth=1, label=f"cap ({CAP}/min)")
    axes.set_xlabel("minute of the run")
    axes.set_ylabel("sends in that minute")
    axes.set_title(f"Sends per minute, each of {len(sends)} instances (one line each)")
    axes.set_ylim(0, CAP + 2)
    axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path)
    pyplot.close(figure)


def main() -> int:
    parser = report.parser(__doc__)
    parser.add_argument("--instances", type=int, default=DEFAULT_INSTANCES)
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    if args.quick:
        args.instances, args.minutes = 3, 0.25
    paced: dict[str, Any] = {"min_gap_seconds": GAP, "max_gap_seconds": GAP, "cap_per_minute": CAP}
    with sending_stack(instances=args.instances, **paced) as stack:
        instances = list(Instance.objects.order_by("pk"))
        load(instances, int(args.minutes * CAP) + 10)
        usage, started = run(stack, args.minutes * 60)
        sessions = {i.session_name for i in instances}
        sends: dict[str, list[float]] = {name: [] for name in sessions}
        for entry in stack.sim.ledger(message="many "):
            if entry["session"] in sends and entry["t"] >= started:
                sends[entry["session"]].append(entry["t"])
    late, most = judge_sends(sends)
    total = sum(len(times) for times in sends.values())
    figures = percentiles([s * 1000 for _t, s in late])
    # Every instance rings at once at the start, a herd the first minute spreads out: the
    # steady figure is shown beside the whole run's (which the target judges).
    steady = percentiles([s * 1000 for t, s in late if t >= started + 60])
    suffix = "" if args.instances == DEFAULT_INSTANCES else f"-{args.instances}"
    chart_name = f"benchmarks-many-numbers{suffix}.png"
    docs = BASE_DIR / "docs" if not args.quick else Path(tempfile.mkdtemp())
    path = docs / chart_name
    chart(sends, started, args.minutes, path)
    rows = [f"| {name} | {cpu:.1f} | {rss:.1f} |" for name, (cpu, rss) in usage.items()]
    body = "\n".join(
        [
            f"{args.instances} connected instances on the simulator, each with a fixed {GAP:g} s"
            f" gap after a send and a cap of {CAP} a minute, a backlog longer than the run;"
            f" a `default` worker (2 processes) and a `messages` worker (4 processes) for"
            f" {args.minutes:g} minutes: {total:,} sends"
            f" ({total / args.minutes / max(1, args.instances):.2f} per instance per minute).",
            "",
            "| lateness after the allowed moment | sends | p50 ms | p95 ms | p99 ms |",
            "| --- | ---: | ---: | ---: | ---: |",
            f"| every send after an instance's first | {figures['n']} | {figures['p50']}"
            f" | {figures['p95']} | {figures['p99']} |",
            f"| the same, after the first minute | {steady['n']} | {steady['p50']}"
            f" | {steady['p95']} | {steady['p99']} |",
            "",
            f"Most sends by one instance in any 60 s: {most} (cap {CAP}).",
            "",
            "| process | CPU % of one core | peak RSS MB |",
            "| --- | ---: | ---: |",
            *rows,
            "",
            f"![Sends per minute per instance]({chart_name})",
        ]
    )
    targets = [
        report.at_most(
            f"paced-send-lateness-p95-{args.instances}-instances", figures["p95"] / 1000,
            LATE_P95_S, "s",
        ),
        report.at_most("sends-in-any-minute-vs-cap", most, CAP, "sends"),
    ]  # fmt: skip
    heading = "Many numbers" + ("" if not suffix else f" ({args.instances} instances)")
    return report.finish(heading, "many", body, targets, quick=args.quick)


if __name__ == "__main__":
    raise SystemExit(main())
