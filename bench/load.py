"""A closed-loop HTTP load generator on loopback: N threads, each on its own keep-alive connection,
each sending its next request as soon as the previous answer arrived (as wrk does).

Python threads, not a C tool: the client's share of the CPU is small beside a Django request's,
and it is the same for the product and its floor, measured side by side.
"""

from __future__ import annotations

import http.client
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bench.stack import percentiles


@dataclass
class LoadResult:
    concurrency: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[int, int] = field(default_factory=dict)
    # Every answer, the warm-up's too: what the processes' CPU time over the whole run paid for.
    answered: int = 0

    @property
    def per_second(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    def figures(self) -> dict[str, float]:
        return {**percentiles(self.latencies_ms), "per_s": round(self.per_second, 1)}


def run_load(
    url: str,
    *,
    body: Callable[[int], bytes],
    headers: dict[str, str],
    concurrency: int,
    seconds: float,
    warmup: float = 1.0,
    expect: int = 201,
) -> LoadResult:
    """POST body(n) (n counts across all threads) to url for warmup + seconds; time the last part."""
    parts = urlsplit(url)
    counter = itertools.count()
    lock = threading.Lock()
    result = LoadResult(concurrency, seconds)
    start = time.monotonic() + warmup
    stop = start + seconds

    def worker() -> None:
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
        mine: list[float] = []
        errors: dict[int, int] = {}
        answered = 0
        try:
            while True:
                began = time.monotonic()
                if began >= stop:
                    break
                conn.request("POST", parts.path, body=body(next(counter)), headers=headers)
                response = conn.getresponse()
                response.read()
                ended = time.monotonic()
                answered += 1
                if response.status != expect:
                    errors[response.status] = errors.get(response.status, 0) + 1
                elif began >= start:
                    mine.append((ended - began) * 1000)
        finally:
            conn.close()
        with lock:
            result.latencies_ms.extend(mine)
            result.answered += answered
            for status, count in errors.items():
                result.errors[status] = result.errors.get(status, 0) + count

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return result
