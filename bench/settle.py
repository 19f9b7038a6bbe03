"""Wait for the machine to go quiet before a part starts (`python -m bench all`).

A part can leave work behind when it ends: PostgreSQL vacuums and checkpoints the rows it wrote,
its processes take a moment to exit. The next part's first figures would carry that load (the
batch part is a dozen seconds long), so `all` waits until the whole machine was idle for most of
a second, or gives up and says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable

# Busy ticks and all ticks since boot, from the first line of /proc/stat.
Reader = Callable[[], tuple[int, int]]


def cpu_ticks() -> tuple[int, int]:
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return sum(fields) - idle, sum(fields)


def settle(
    *,
    idle_share: float = 0.85,
    timeout: float = 90.0,
    window: float = 1.0,
    read: Reader = cpu_ticks,
) -> tuple[bool, float, float]:
    """Wait until one `window` was at least `idle_share` idle; (settled, seconds waited, the
    last window's busy share)."""
    started = time.monotonic()
    busy_share = 1.0
    while True:
        busy_before, total_before = read()
        time.sleep(window)
        busy_after, total_after = read()
        total = total_after - total_before
        busy_share = (busy_after - busy_before) / total if total > 0 else 0.0
        waited = time.monotonic() - started
        if busy_share <= 1 - idle_share:
            return True, waited, busy_share
        if waited >= timeout:
            return False, waited, busy_share
