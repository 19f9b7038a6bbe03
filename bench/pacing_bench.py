"""Pacing benchmark: how long the dispatcher's cap count takes with a long history.

    .venv/bin/python -m bench pacing [--history 72000] [--repeat 200] [--quick]

Fills the bench database (BENCH_DATABASE_URL, emptied first) with one instance and `--history`
finished attempts spread over the last 60 days, then times the count the dispatcher makes for
each cap window (minute, hour, day) while it holds the instance row: the current bounded count
(`pacing.sends_since`) beside the former one, which scanned every attempt the instance ever
had. Figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench import report  # noqa: E402
from bench.stack import empty_messages, standalone_django  # noqa: E402

standalone_django()

from django.db import connection  # noqa: E402
from django.db.models import Count, Min  # noqa: E402
from django.utils import timezone  # noqa: E402

from whatsapp.models import Instance, MessageAttempt, OutboundMessage  # noqa: E402
from whatsapp.models.message import NOT_SENT_OUTCOMES, AttemptOutcome  # noqa: E402
from whatsapp.services import pacing  # noqa: E402

WINDOWS = {"minute": 60, "hour": 3600, "day": 86400}
TARGET_MS = 10.0


def fill(history: int) -> Instance:
    empty_messages()
    Instance.objects.all().delete()
    instance = Instance.objects.create(
        slug="bench", name="Bench", session_name="bench", gateway_url="http://127.0.0.1:9"
    )
    now = timezone.now()
    batch = 5000
    for start in range(0, history, batch):
        size = min(batch, history - start)
        messages = OutboundMessage.objects.bulk_create(
            OutboundMessage(
                id=uuid.uuid4(),
                instance=instance,
                recipient=f"5521987{n % 1_000_000:06d}",
                body="history",
                status="read",
            )
            for n in range(start, start + size)
        )
        MessageAttempt.objects.bulk_create(
            MessageAttempt(
                message=message,
                instance=instance,
                number=1,
                # Spread over 60 days, the last ones in the current minute.
                started_at=now - timedelta(seconds=(history - start - i) * 72),
                finished_at=now - timedelta(seconds=(history - start - i) * 72 - 1),
                outcome=AttemptOutcome.SENT,
            )
            for i, message in enumerate(messages)
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE whatsapp_messageattempt")
        cursor.execute("ANALYZE whatsapp_outboundmessage")
    return instance


def former_count(instance: Instance, since: datetime) -> tuple[int, datetime | None]:
    """The count before: by start time, through the message, no index that bounds it."""
    row = (
        MessageAttempt.objects.filter(message__instance=instance, started_at__gte=since)
        .exclude(outcome__in=NOT_SENT_OUTCOMES)
        .aggregate(count=Count("id"), first=Min("started_at"))
    )
    return int(row["count"] or 0), row["first"]


def timed(count: Callable[[Instance, datetime], object], instance: Instance, seconds: int,
          repeat: int) -> list[float]:  # fmt: skip
    samples = []
    for _ in range(repeat):
        since = timezone.now() - timedelta(seconds=seconds)
        started = time.perf_counter()
        count(instance, since)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def quantile(samples: list[float], q: float) -> float:
    return round(statistics.quantiles(samples, n=100)[int(q * 100) - 1], 2)


def main() -> int:
    parser = report.parser(__doc__)
    parser.add_argument("--history", type=int, default=72_000)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    if args.quick:
        args.history, args.repeat = 2_000, 20
    instance = fill(args.history)
    rows = []
    worst = 0.0
    for name, seconds in WINDOWS.items():
        for label, count in (("bounded (now)", pacing.sends_since), ("former", former_count)):
            samples = timed(count, instance, seconds, args.repeat)
            p50, p95 = quantile(samples, 0.5), quantile(samples, 0.95)
            if count is pacing.sends_since:
                worst = max(worst, p95)
            rows.append(f"| {name} | {label} | {p50} | {p95} |")
    body = "\n".join(
        [
            f"One instance with {args.history:,} finished attempts over 60 days (PostgreSQL on "
            "this machine); each window's count as the dispatcher makes it, "
            f"{args.repeat} times. The former count is shown for comparison.",
            "",
            "| window | count | p50 ms | p95 ms |",
            "| --- | --- | ---: | ---: |",
            *rows,
            "",
            "The target is the worst p95 of the bounded count over the three windows.",
        ]
    )
    targets = [report.at_most("pacing-count-p95", worst, TARGET_MS, "ms")]
    return report.finish("Pacing count", "pacing", body, targets, quick=args.quick)


if __name__ == "__main__":
    raise SystemExit(main())
