"""What every scenario shares: its context (the stack, the scale), the registry, steady REST
traffic, and the closing measure (drain, lost, duplicated, recovery, rows left in flight)."""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from faults.report import Result
from faults.stack import Stack

Scenario = Callable[["Ctx"], list[Result]]
SCENARIOS: dict[str, tuple[int, Scenario]] = {}


def scenario(number: int, name: str) -> Callable[[Scenario], Scenario]:
    def register(fn: Scenario) -> Scenario:
        SCENARIOS[name] = (number, fn)
        return fn

    return register


@dataclass
class Ctx:
    stack: Stack
    scale: float

    def n(self, full: int, least: int) -> int:
        """A size: the issue's `full` at scale 1, never below `least`."""
        return max(least, round(full * self.scale))

    def drain_timeout(self, count: int) -> float:
        return 180 + count / 4


def finish(
    ctx: Ctx,
    result: Result,
    ids: list[str],
    tag: str,
    fault_ended: float,
    *,
    timeout: float | None = None,
) -> Result:
    """Wait for the drain, then fill the row's figures."""
    stack = ctx.stack
    took = stack.drain(ids, timeout or ctx.drain_timeout(len(ids)))
    if took is not None and not stack.not_done(ids):
        result.recover_s = round(max(0.0, time.monotonic() - fault_ended), 1)
        if result.recover_s > 30:
            result.notes.append(f"Sent last: {stack.last_story(ids)}.")
    result.enqueued = len(ids)
    result.lost = stack.not_done(ids)
    if result.lost:
        statuses = stack.statuses(ids)
        seen = Counter(statuses.get(i, "missing") for i in ids)
        result.notes.append(f"Not sent after the wait: {dict(seen)}.")
        result.notes += [f"Unsent: {line}" for line in stack.story(ids)]
    result.duplicated = stack.duplicates(tag)
    result.left = stack.left()
    stack.p.revive()
    revived = stack.p.exits[stack.exits_before :]
    if revived:
        result.notes.append(f"Exited during the scenario and started again: {', '.join(revived)}.")
    return result


# A request slower than this is listed with its moment, to tell an outage's edge from its middle.
SLOW_S = 0.5


@dataclass
class Traffic:
    """Steady REST enqueue from a thread: one request every `every` seconds, each timed."""

    stack: Stack
    tag: str
    every: float = 0.2
    ids: list[str] = field(default_factory=list)
    codes: Counter[Any] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    # (seconds after the traffic started, seconds it took, answer) of each slow request.
    slow: list[tuple[float, float, Any]] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._began = time.monotonic()

    def start(self) -> Traffic:
        self._began = time.monotonic()
        self._thread.start()
        return self

    def stop(self) -> Traffic:
        self._stop.set()
        self._thread.join(60)
        return self

    def _run(self) -> None:
        import requests

        session = requests.Session()
        n = 0
        next_at = time.monotonic()
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                response = self.stack.post(session, self.tag, n)
                code: Any = response.status_code
                if code == 201:
                    self.ids.append(str(response.json()["id"]))
                elif len(self.bad) < 5:
                    retry = response.headers.get("Retry-After")
                    self.bad.append(f"{code} (Retry-After: {retry}) {response.text[:200]}")
            except requests.RequestException as exc:
                code = type(exc).__name__
            took = time.monotonic() - started
            self.latencies.append(took)
            if took > SLOW_S and len(self.slow) < 20:
                self.slow.append((round(started - self._began, 1), round(took, 3), code))
            self.codes[code] += 1
            n += 1
            next_at += self.every
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def p99(self) -> float:
        if len(self.latencies) < 2:
            return max(self.latencies, default=0.0)
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[98]

    def figures(self) -> dict[str, Any]:
        return {
            "requests": sum(self.codes.values()),
            "answers": dict(self.codes),
            "p50 s": round(statistics.median(self.latencies), 3) if self.latencies else 0,
            "p99 s": round(self.p99(), 3),
            "slowest s": round(max(self.latencies, default=0.0), 3),
            **({f"over {SLOW_S} s (at s, took s, answer)": self.slow} if self.slow else {}),
        }


def sleep_until(predicate: Callable[[], object], timeout: float) -> bool:
    from faults.stack import wait_until

    return wait_until(predicate, timeout, interval=0.2)
