"""The benchmark suite: `python -m bench NAME [options]` runs one part, `python -m bench all` every
part in turn (each in its own process, so each sets up Django and its services its own way).

    .venv/bin/python -m bench all [--quick]
    .venv/bin/python -m bench messages --drain 2000

`--quick` runs a small version of a part in seconds, to prove it still works: no verdicts, no
docs. Every part prints its target lines last; `all` repeats them together at the end and fails
when one was missed (outside quick mode) or when a part failed. Between two parts, `all` waits
for the machine to go quiet (bench/settle.py), so no part starts under the last one's leftovers.

The parts use the bench database, broker and cache of bench/stack.py (BENCH_DATABASE_URL,
BENCH_BROKER_URL, BENCH_CACHE_URL) and empty them: never point them at data you care about.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.settle import settle

BASE_DIR = Path(__file__).resolve().parent.parent

# Name → module, in the order `all` runs them.
PARTS = {
    "http": "bench.http_bench",
    "batch": "bench.batch_bench",
    "messages": "bench.messages_bench",
    "latency": "bench.latency_bench",
    "memory": "bench.memory_bench",
    "backlog": "bench.backlog_bench",
    "many": "bench.many_bench",
    "sessions": "bench.sessions_bench",
    "pacing": "bench.pacing_bench",
    "media": "bench.media_bench",
    "events": "bench.events_bench",
}


def run_part(name: str, args: list[str]) -> tuple[int, list[str]]:
    """Run one part in its own process, its output passed through; its target lines back."""
    print(f"==> bench {name} {' '.join(args)}".rstrip(), flush=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", PARTS[name], *args],
        cwd=BASE_DIR,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    targets = []
    for line in proc.stdout:
        sys.stdout.write(line)
        if line.startswith("target "):
            targets.append(line.rstrip("\n"))
    sys.stdout.flush()
    return proc.wait(), targets


def say_settled(settled: bool, waited: float, busy: float) -> None:
    if settled:
        print(f"(the machine went quiet after {waited:.0f} s)", flush=True)
    else:
        print(f"(the machine was still {busy:.0%} busy after {waited:.0f} s: going on)", flush=True)


def usage() -> int:
    print(__doc__)
    print("parts: all, " + ", ".join(PARTS))
    return 2


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        return usage()
    name, args = argv[0], argv[1:]
    if name != "all":
        if name not in PARTS:
            return usage()
        return run_part(name, args)[0]
    quick = "--quick" in args
    failed, lines = [], []
    for n, part in enumerate(PARTS):
        if n and not quick:
            say_settled(*settle())
        status, targets = run_part(part, ["--quick"] if quick else [])
        lines += targets
        if status != 0:
            failed.append(part)
    print("\n==> every target")
    for line in lines:
        print(line)
    if failed:
        print(f"\nparts that failed or missed a target: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
