"""CPU time by kind of process on this machine, read from /proc: what a bench phase cost.

`snapshot(workers)` reads the user and system time of every process so far, grouped as
PostgreSQL, Redis, each Celery worker (its main process and its pool), this bench process (the
simulator runs in it) and everything else; `spent(before, after)` sums the difference by group.
A process that ends between two snapshots takes its time with it, so phases are measured with
connections and workers that live through them.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Any

TICK = os.sysconf("SC_CLK_TCK")
BENCH = "bench process (simulator, load, polling)"


def _stat(pid: str) -> tuple[str, int, float] | None:
    """(command name, parent pid, CPU seconds) of a process, None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw.rsplit(")", 1)[1].split()
    return name, int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK


Snapshot = dict[int, tuple[str, float]]


def snapshot(workers: list[Any], named: dict[int, str] | None = None) -> Snapshot:
    """Each process's group and CPU seconds so far; `workers` are tests.live.WorkerProcess,
    `named` other main processes by pid (gunicorn's master), each grouped with its children."""
    mains = {w.proc.pid: f"{w.args[w.args.index('-Q') + 1]} worker" for w in workers}
    mains.update(named or {})
    stats = {int(p): s for p in os.listdir("/proc") if p.isdigit() and (s := _stat(p))}
    taken: Snapshot = {}
    for pid, (name, parent, seconds) in stats.items():
        if pid == os.getpid():
            group = BENCH
        elif pid in mains or parent in mains:
            group = mains.get(pid) or mains[parent]
        elif name == "postgres":
            group = "PostgreSQL"
        elif name.startswith("redis-server"):
            group = "Redis"
        else:
            group = "other"
        taken[pid] = (group, seconds)
    return taken


def spent(before: Snapshot, after: Snapshot) -> dict[str, float]:
    """CPU seconds by group between the two snapshots, of the processes alive at the second."""
    groups: dict[str, float] = defaultdict(float)
    for pid, (group, seconds) in after.items():
        earlier = before.get(pid)
        groups[group] += seconds - (earlier[1] if earlier and earlier[0] == group else 0.0)
    return dict(groups)
