"""`python -m faults [NAME ...] [--scale S]`: run the fault scenarios, write docs/reliability.md.

Starts its own PostgreSQL (port 5440, FAULTS_PG_PORT) and Redis (6395, FAULTS_REDIS_PORT), the
simulator, gunicorn, the workers and beat; stops them all at the end. Scale 1 runs the issue's
sizes (10,000-message backlogs, about two hours here); `--scale 0.05` a quick run.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback

from faults import broker, database, gateway, load, workers  # noqa: F401  (they register)
from faults.common import SCENARIOS, Ctx
from faults.report import Result, save, write_doc
from faults.stack import Stack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m faults", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"scenarios (default all): {', '.join(SCENARIOS)}")
    parser.add_argument("--scale", type=float, default=1.0, help="sizes times S (default 1)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    if not 0 < args.scale <= 1:
        parser.error("--scale must be above 0 and at most 1")
    chosen = sorted(args.names or SCENARIOS, key=lambda n: SCENARIOS[n][0])
    started = time.monotonic()
    stack = Stack()
    results: list[Result] = []
    try:
        stack.start()
        ctx = Ctx(stack, args.scale)
        for name in chosen:
            number, run = SCENARIOS[name]
            print(f"==> {number}. {name}", flush=True)
            began = time.monotonic()
            stack.fresh()
            try:
                rows = run(ctx)
            except Exception:
                rows = [Result(number, name, name, "The scenario itself failed.", "-")]
                rows[0].checks["the scenario ran to its end"] = False
                trace = traceback.format_exc()
                print(trace, flush=True)
                rows[0].notes.append(f"It raised: `{trace.strip().splitlines()[-1]}`.")
                stack.p.revive()
            for row in rows:
                state = "met" if row.met else "MISSED"
                print(
                    f"    {row.title}: enqueued {row.enqueued}, lost {row.lost}, duplicated "
                    f"{row.duplicated}, recovery {row.recover_s}, left {row.left}, "
                    f"{row.figures}, {row.checks} -> {state} ({time.monotonic() - began:.0f} s)",
                    flush=True,
                )
            results += rows
            save(rows, args.scale)
    finally:
        stack.stop()
    stored = save([], args.scale)
    command = "python -m faults " + " ".join(sys.argv[1:] if argv is None else argv)
    path = write_doc(stored, command.strip(), time.monotonic() - started)
    print(f"written to {path}")
    return 0 if all(r.met for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
