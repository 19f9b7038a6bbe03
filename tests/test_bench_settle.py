"""`bench all` waits for the machine to go quiet between parts (bench/settle.py)."""

from __future__ import annotations

from collections.abc import Iterator

from bench.settle import cpu_ticks, settle


def reader(windows: list[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """Counters for windows of (busy ticks, all ticks), read twice per window."""
    busy = total = 0
    for busy_in, total_in in windows:
        yield busy, total
        busy, total = busy + busy_in, total + total_in
        yield busy, total


def test_it_waits_through_busy_windows_until_one_is_quiet():
    ticks = reader([(190, 200), (120, 200), (10, 200)])
    settled, _waited, busy = settle(window=0, read=lambda: next(ticks))
    assert settled and busy == 0.05
    assert next(ticks, None) is None  # all three windows were read


def test_it_gives_up_after_the_timeout_and_says_how_busy_it_was():
    ticks = reader([(180, 200)] * 1000)
    settled, _waited, busy = settle(window=0.001, timeout=0.01, read=lambda: next(ticks))
    assert not settled and busy == 0.9


def test_the_counters_come_from_the_kernel():
    busy, total = cpu_ticks()
    assert 0 < busy < total
