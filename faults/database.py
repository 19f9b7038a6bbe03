"""PostgreSQL unreachable during enqueue and sends (scenario 5)."""

from __future__ import annotations

import time

from faults.common import Ctx, Traffic, finish, scenario
from faults.report import Result


@scenario(5, "postgres_down")
def postgres_down(ctx: Ctx) -> list[Result]:
    from django.db import connection

    stack = ctx.stack
    stack.instance("main")
    seconds = 20
    count = ctx.n(2000, 300)
    result = Result(
        5,
        "postgres_down",
        f"PostgreSQL unreachable for {seconds} s during enqueue and sends",
        f"{count} messages draining (0.2 s per send) and `POST /api/v1/messages` five times a "
        f"second; PostgreSQL stopped in `immediate` mode (every connection cut) 10 s in, started "
        f"again {seconds} s later. Nothing is restarted by hand.",
        f"{count} messages + {seconds} s outage under 5 requests/s",
        live_test="`tests/test_database_down.py` (every API route, the webhook receiver and the "
        "dashboard answer 503 with the database down)",
    )
    stack.sim.set_fault("send-message", latency=0.2)
    ids = stack.backlog("pgdown", count)
    traffic = Traffic(stack, "pgdownrest", every=0.2).start()
    time.sleep(10)
    connection.close()
    stack.pg.stop("immediate")
    time.sleep(seconds)
    stack.pg.start()
    fault_ended = time.monotonic()
    time.sleep(10)
    traffic.stop()
    stack.sim.clear_faults()
    result.figures.update(traffic.figures())
    result.notes += [f"An answer other than 201: {bad}" for bad in traffic.bad]
    result.checks["never a 500: 201, or 503 while the database was down"] = set(traffic.codes) <= {
        201,
        503,
    }
    # Workers were not touched: any exit would be revived (and named) by `finish`.
    before = {p.name: p.starts for p in stack.p.workers()}
    finish(ctx, result, ids + traffic.ids, "pgdown", fault_ended)
    result.duplicated += stack.duplicates("pgdownrest")
    result.checks["workers recovered by themselves (none exited)"] = all(
        p.starts == before[p.name] for p in stack.p.workers()
    )
    return [result]
