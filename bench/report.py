"""What every bench part ends with: its target lines, and its section of docs/benchmarks.md.

A part measures, then calls `finish`: the figures are printed, then one line per target
(`target <name>: <value> <unit> (goal <goal>) met|missed`, always last), and outside quick mode
the part's section of docs/benchmarks.md is rewritten with the command, the machine and the
same lines. Quick mode (`--quick`) is a small run that proves the bench still works: it prints
the lines but neither judges them (the exit status ignores them) nor touches the docs.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.stack import write_section


@dataclass(frozen=True)
class Target:
    name: str
    value: float
    unit: str
    goal: str
    met: bool

    def line(self) -> str:
        verdict = "met" if self.met else "missed"
        return f"target {self.name}: {self.value:g} {self.unit} (goal {self.goal}) {verdict}"


def at_most(name: str, value: float, limit: float, unit: str) -> Target:
    return Target(name, round(value, 2), unit, f"≤ {limit:g}", value <= limit)


def at_least(name: str, value: float, limit: float, unit: str) -> Target:
    return Target(name, round(value, 2), unit, f"≥ {limit:g}", value >= limit)


def parser(doc: str | None) -> argparse.ArgumentParser:
    """The parser every part starts from: `--quick` for the small run that only proves it works."""
    parse = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parse.add_argument(
        "--quick", action="store_true", help="a small run in seconds; no verdicts, no docs"
    )
    return parse


def machine() -> str:
    """Cores, memory and how busy the machine was when the part started."""
    memory_kb = 0
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    text = (
        f"{os.cpu_count()} cores, {memory_kb / 1024 / 1024:.1f} GB memory, "
        f"load average {load} (1/5/15 min) when the part started"
    )
    # Set by whoever runs the suite, e.g. "shared with three other developers' test runs".
    note = os.environ.get("BENCH_MACHINE_NOTE", "").strip()
    return f"{text}; {note}" if note else text


def command(module: str, argv: Sequence[str] | None = None) -> str:
    args = list(sys.argv[1:] if argv is None else argv)
    return shlex.join([".venv/bin/python", "-m", "bench", module, *args])


def finish(heading: str, module: str, body: str, targets: Sequence[Target], *, quick: bool) -> int:
    """Print the figures and the target lines (last); outside quick mode, rewrite the docs.

    The exit status: 0 in quick mode whatever the figures; otherwise 1 when a target is missed.
    """
    lines = [target.line() for target in targets]
    print(body.strip())
    if not quick:
        section = "\n".join(
            [
                f"Command: `{command(module)}`",
                "",
                f"Machine: {MACHINE_AT_START}.",
                "",
                body.strip(),
                "",
                "```text",
                *lines,
                "```",
            ]
        )
        path = write_section(heading, section)
        print(f"\nwritten to {path}")
    print()
    for line in lines:
        print(line)
    sys.stdout.flush()
    if quick:
        return 0
    return 0 if all(target.met for target in targets) else 1


# Read when the part starts, before its own load makes the machine look busy.
MACHINE_AT_START = machine()
