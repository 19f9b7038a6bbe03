"""Scenario results and docs/reliability.md, written from them."""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from faults.processes import BASE_DIR

# Kept beside the page and committed with it: a run of some scenarios (`python -m faults NAME`)
# merges into the rows of earlier runs, from any checkout.
RESULTS = BASE_DIR / "docs" / "reliability.json"
DOC = BASE_DIR / "docs" / "reliability.md"


@dataclass
class Result:
    number: int
    name: str
    title: str
    done: str
    sizes: str
    enqueued: int = 0
    lost: int = 0
    duplicated: int = 0
    recover_s: float | None = None
    left: dict[str, int] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    live_test: str = ""
    ran_at: str = ""

    @property
    def met(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and all(self.checks.values())


def save(results: list[Result], scale: float) -> dict[str, Any]:
    """Merge these results into the stored ones (a run of some scenarios keeps the others)."""
    stored: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    by_name = stored.get("results", {})
    for result in results:
        result.ran_at = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        by_name[result.name] = {**asdict(result), "scale": scale}
    stored["results"] = by_name
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(stored, indent=2))
    return stored


def _left(left: dict[str, int]) -> str:
    shown = [f"{n} {status}" for status, n in sorted(left.items()) if n]
    return ", ".join(shown) or "none"


def _recover(seconds: float | None) -> str:
    return "not within the wait" if seconds is None else f"{seconds:.0f} s"


def write_doc(stored: dict[str, Any], command: str, took_s: float) -> Path:
    rows = sorted(stored["results"].values(), key=lambda r: r["number"])
    results = [(Result(**{k: v for k, v in r.items() if k != "scale"}), r["scale"]) for r in rows]
    scales = sorted({scale for _r, scale in results})
    lines = [
        "# Reliability: the fault suite",
        "",
        "`make faults` (`python -m faults [NAME ...] [--scale S]`) runs each scenario below",
        "against real processes on one machine: a PostgreSQL and a Redis of the suite's own",
        "(ports 5440 and 6395), gunicorn serving the web app and the API, the workers as",
        "`make run` splits them (`sessions` with 2 processes, `messages,default` with 4,",
        "`housekeeping` with 1), beat, and the WPPConnect",
        "simulator as the gateway. A process that exits is started again (as `make run`'s",
        "supervisor and compose do) and named below. The goal in every row: nothing lost, nothing",
        "sent twice.",
        "",
        "- **enqueued**: messages the API acknowledged (201 or a returned row).",
        "- **lost**: acknowledged but not sent (`sent`, `delivered` or `read`) after the drain.",
        "- **duplicated**: extra sends of one message in the simulator's ledger.",
        "- **recovery**: from the end of the fault until the last message was sent.",
        "- **left**: rows still `dispatched`, `sending` or `unknown` after the drain.",
        "",
        f"Last command: `{command}` ({took_s / 60:.0f} minutes). The rows come from runs at scale",
        f"{', '.join(f'{s:g}' for s in scales)} (the scale column; scale 1 is the issue's sizes:",
        "10,000-message backlogs; each scenario's section names its run), on",
        f"{platform.machine()} with 2 cores shared with other work. Settings changed from",
        "production so that no",
        "scenario waits minutes on a timer: `WPPCONNECT_READ_TIMEOUT=10`,",
        "`WHATSAPP_UNKNOWN_GRACE=30`, `WHATSAPP_HEALTH_INTERVAL=15`.",
        "",
        "| # | scenario | scale | sizes | enqueued | lost | duplicated | recovery | left | goal |",
        "| ---: | --- | ---: | --- | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for r, scale in results:
        goal = "met" if r.met else "**MISSED**"
        lines.append(
            f"| {r.number} | {r.title} | {scale:g} | {r.sizes} | {r.enqueued} | {r.lost}"
            f" | {r.duplicated}"
            f" | {_recover(r.recover_s)} | {_left(r.left)} | {goal} |"
        )
    lines += ["", "## Scenarios", ""]
    for r, scale in results:
        lines += [f"### {r.number}. {r.title}", "", r.done, ""]
        lines.append(f"Run `{r.name}` at scale {scale} ({r.ran_at}).")
        if r.figures:
            shown = "; ".join(f"{k}: {v}" for k, v in r.figures.items())
            lines.append(f"Measured: {shown}.")
        if r.checks:
            shown = "; ".join(f"{k} — {'yes' if ok else 'NO'}" for k, ok in r.checks.items())
            lines.append(f"Checks: {shown}.")
        lines += [f"- {note}" for note in r.notes]
        if r.live_test:
            lines.append(f"Short live test in `make test`: {r.live_test}.")
        lines.append("")
    DOC.write_text("\n".join(lines).rstrip() + "\n")
    return DOC
