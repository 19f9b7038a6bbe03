"""Backlog scale: the dispatcher's cost per claimed message with 1,000, 100,000 and 1,000,000
queued messages, the query plans of the send path at the largest size, and Redis memory.

    .venv/bin/python -m bench backlog [--sizes 1000 100000 1000000] [--rounds 10] [--quick]

The queued rows are bulk-loaded (`INSERT … SELECT generate_series`) over 20 connected instances
(pacing off) and 500,000 recipients. At each size, `--rounds` rounds dispatch every instance once
as the dispatch task does (`run_dispatch`: lock, expire, count, pick, claim, publish the send
tasks), timed; then the claimed rows go back to the queue and the broker is emptied, so the
backlog stays the size it was. Redis memory is read after one such round, its send tasks still
in the broker (no worker consumes them). At the last size, every statement of a dispatch and of
a send task (the simulator answering) is run again under `EXPLAIN (ANALYZE, BUFFERS)`.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench import report  # noqa: E402
from bench.stack import empty_messages, standalone_django  # noqa: E402

standalone_django()

import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench.sending import UNPACED, connect_instance  # noqa: E402
from whatsapp.models import Instance, OutboundMessage, WebhookEndpoint  # noqa: E402
from whatsapp.simulator.testing import start_simulator  # noqa: E402
from whatsapp.tasks.messages import run_dispatch, send_message  # noqa: E402

INSTANCES = 20
RECIPIENTS = 500_000
GROWTH = 1.5
FILTERED = 1_000
TABLE = OutboundMessage._meta.db_table
broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)


def make_instances(sim) -> list[int]:  # type: ignore[no-untyped-def]
    empty_messages()
    Instance.objects.all().delete()
    first = connect_instance(sim, "bench-0")
    ids = [first.pk]
    for n in range(1, INSTANCES):
        instance = Instance(
            slug=f"bench-{n}",
            name=f"bench-{n}",
            session_name=f"bench-{n}",
            gateway_url=sim.url,
            connected=True,
            status="CONNECTED",
            **UNPACED,
        )
        instance.secret_key = "unused"
        instance.save()
        ids.append(instance.pk)
    return ids


def grow(ids: list[int], have: int, want: int) -> None:
    """Add queued rows `have`..`want`, copying every other column from a template row."""
    template = OutboundMessage.objects.create(
        instance_id=ids[0], recipient="5521987000000", body="t"
    )
    columns = [f.column for f in OutboundMessage._meta.concrete_fields]
    made = {
        "id": "gen_random_uuid()",
        "instance_id": f"(ARRAY{ids})[1 + g %% {len(ids)}]",
        "recipient": f"'5521' || lpad((g %% {RECIPIENTS})::text, 9, '0')",
        "body": "'backlog ' || g",
        "created_at": "now() - (g || ' milliseconds')::interval",
        "updated_at": "now()",
    }
    names = ", ".join(f'"{c}"' for c in columns)
    select = ", ".join(made.get(str(c), f't."{c}"') for c in columns)
    sql = (
        f'INSERT INTO "{TABLE}" ({names}) SELECT {select}'
        f' FROM generate_series(%s, %s - 1) AS g, "{TABLE}" AS t WHERE t.id = %s'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [have, want, template.pk])
    template.delete()
    with connection.cursor() as cursor:
        cursor.execute(f'VACUUM ANALYZE "{TABLE}"')


def requeue() -> None:
    OutboundMessage.objects.filter(status="dispatched").update(
        status="queued", dispatch_token=None, lease_expires_at=None
    )
    broker.flushdb()


def measure(ids: list[int], rounds: int) -> tuple[float, int, float]:
    """(ms per claimed message, claimed per round, Redis MB after a round)."""
    seconds, claimed, redis_mb = 0.0, 0, 0.0
    for round_no in range(rounds):
        started = time.perf_counter()
        got = sum(run_dispatch(pk) for pk in ids)
        seconds += time.perf_counter() - started
        claimed += got
        if round_no == 0:
            redis_mb = int(broker.info("memory")["used_memory"]) / 1024 / 1024
        requeue()
    return seconds * 1000 / max(claimed, 1), claimed // rounds, redis_mb


SHAPE = re.compile(r"'[^']*'|\b\d+\b")


def statements_of_the_send_path(ids: list[int]) -> list[str]:
    """Every distinct statement (by shape) of one dispatch and one send task."""
    with CaptureQueriesContext(connection) as queries:
        run_dispatch(ids[0])
        dispatched = OutboundMessage.objects.filter(instance_id=ids[0], status="dispatched")
        message = dispatched.first()
        assert message is not None
        send_message(str(message.pk), str(message.dispatch_token))
    seen, out = set(), []
    for query in queries.captured_queries:
        sql = query["sql"]
        if sql.split()[0].upper() not in {"SELECT", "UPDATE", "INSERT", "DELETE"}:
            continue
        shape = SHAPE.sub("?", sql)
        if shape not in seen:
            seen.add(shape)
            out.append(sql)
    requeue()
    return out


def rows_filtered(plan: str) -> int:
    return sum(int(n) for n in re.findall(r"Rows Removed by Filter: (\d+)", plan))


def explain(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")
        try:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            return "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("ROLLBACK")


def main() -> int:
    parser = report.parser(__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.rounds = [1_000, 5_000], 2
    sim = start_simulator("bench-secret", auto_close=3600, init_delay=0.05)
    sim.set_acks(None, None)
    rows, costs, plans = [], [], []
    try:
        # The send path without events: an endpoint left by another part would add its
        # deliveries' INSERTs, which replay under EXPLAIN ANALYZE as duplicates.
        WebhookEndpoint.objects.all().delete()
        ids = make_instances(sim)
        broker.flushdb()
        have = 0
        for size in args.sizes:
            started = time.monotonic()
            grow(ids, have, size)
            load_s, have = time.monotonic() - started, size
            run_dispatch(ids[0])  # warm: imports, connections, plans
            requeue()
            cost, claimed, redis_mb = measure(ids, args.rounds)
            costs.append(cost)
            rows.append(f"| {size:,} | {load_s:.1f} | {claimed} | {cost:.3f} | {redis_mb:.2f} |")
        statements = statements_of_the_send_path(ids)
        plans = [(sql, explain(sql)) for sql in statements]
    finally:
        sim.stop()
    seq_scans = [sql for sql, plan in plans if f"Seq Scan on {TABLE}" in plan]
    # An index that only narrows to the instance still reads its whole backlog: the rows a
    # plan read and threw away say so.
    filtered = max((rows_filtered(plan) for _sql, plan in plans), default=0)
    plan_text = "\n\n".join(f"```sql\n{sql}\n```\n\n```text\n{plan}\n```" for sql, plan in plans)
    body = "\n".join(
        [
            f"{INSTANCES} connected instances (pacing off), {RECIPIENTS:,} recipients;"
            f" {args.rounds} timed rounds per size, each dispatching every instance once"
            " (`run_dispatch`, the dispatch task's body, publishing its send tasks to Redis).",
            "",
            "| queued rows | load s | claimed per round | ms per claimed message | Redis used MB after a round |",
            "| ---: | ---: | ---: | ---: | ---: |",
            *rows,
            "",
            f"Query plans at {args.sizes[-1]:,} queued rows: every distinct statement of one"
            " dispatch and one send task (a send to the simulator, then its refill), run again"
            " under `EXPLAIN (ANALYZE, BUFFERS)` in a transaction rolled back"
            f" ({len(plans)} statements, {len(seq_scans)} with a sequential scan of `{TABLE}`;"
            f" the most rows one statement read and filtered out: {filtered:,}).",
            "",
            "<details><summary>The plans</summary>",
            "",
            plan_text,
            "",
            "</details>",
        ]
    )
    targets = [
        report.at_most(
            f"dispatch-cost-{args.sizes[-1]}-vs-{args.sizes[0]}", costs[-1] / costs[0], GROWTH, "×"
        ),
        report.at_most("send-path-seq-scans-of-messages", len(seq_scans), 0, "plans"),
        report.at_most("send-path-most-rows-read-and-filtered-out", filtered, FILTERED, "rows"),
    ]
    return report.finish("Backlog scale", "backlog", body, targets, quick=args.quick)


if __name__ == "__main__":
    raise SystemExit(main())
