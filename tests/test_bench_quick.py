"""The benchmark suite's quick run: every part still works (its figures are not judged here)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench.__main__ import PARTS
from tests.live import BASE_DIR, database_url


@pytest.mark.live
@pytest.mark.timeout(600)
def test_every_bench_part_runs_in_quick_mode_prints_its_targets_and_leaves_the_docs_alone():
    docs = BASE_DIR / "docs" / "benchmarks.md"
    before = docs.read_text()
    # A scratch database and two Redis databases of this test process's own server: the bench
    # empties them.
    redis_base = os.environ["CELERY_BROKER_URL"].rsplit("/", 1)[0]
    env = dict(
        os.environ,
        BENCH_DATABASE_URL=database_url() + "_bench_quick",
        BENCH_BROKER_URL=f"{redis_base}/12",
        BENCH_CACHE_URL=f"{redis_base}/13",
    )
    run = subprocess.run(
        [sys.executable, "-m", "bench", "all", "--quick"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=580,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    summary = run.stdout.split("==> every target", 1)[1]
    for name in PARTS:
        assert f"==> bench {name} --quick" in run.stdout
    lines = [line for line in summary.splitlines() if line.startswith("target ")]
    assert len(lines) >= len(PARTS), summary
    for line in lines:
        assert line.endswith((" met", " missed")), line
        assert "(goal " in line, line
    assert docs.read_text() == before
