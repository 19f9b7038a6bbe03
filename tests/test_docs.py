"""Every command and code block of the README and docs/ runs, against a real local run.

The rules a block follows are in docs/writing-docs.md: sh/bash/python blocks run, each on its own,
against a `make run` of the test's (its web and simulator addresses put in place of the default
ones); other blocks say what they are (`text`, `json`, …); a block that cannot run here says why
in a `<!-- not run: … -->` comment just above it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

import pytest

from tests.docblocks import BASE_DIR, Block, all_blocks
from tests.live import wait_until
from tests.test_make_run import LocalRun, answers

pytestmark = pytest.mark.live

BLOCKS = all_blocks()
BLOCK_TIMEOUT = 120


def test_every_block_says_what_it_is_and_why_it_does_not_run():
    untagged = [b.name for b in BLOCKS if not b.language]
    assert not untagged, f"give these blocks a language (`text` for output): {untagged}"
    no_reason = [b.name for b in BLOCKS if b.not_run is not None and not b.not_run]
    assert not no_reason, f"say why these do not run: {no_reason}"
    assert any(b.runnable and b.not_run is None for b in BLOCKS)


@pytest.fixture(scope="module")
def local_run(tmp_path_factory) -> Any:
    run = LocalRun(tmp_path_factory.mktemp("docs-run"))
    run.start()
    try:
        assert wait_until(lambda: answers(f"{run.url}/accounts/login/"), 180, 0.5), run.log()
        assert wait_until(lambda: answers(f"{run.sim_url}/healthz"), 30, 0.5)
        yield run
    finally:
        run.stop()
        for pid in run.pids():
            os.kill(pid, signal.SIGKILL)


def localized(code: str, run: LocalRun) -> str:
    """The block pointed at this run instead of a default `make run`."""
    for default in ("http://localhost:8000", "http://127.0.0.1:8000"):
        code = code.replace(default, run.url)
    for default in ("http://localhost:21465", "http://127.0.0.1:21465"):
        code = code.replace(default, run.sim_url)
    return code


def command(block: Block, code: str) -> list[str]:
    if block.language == "python":
        # In Django, as `python manage.py shell` runs it, on the local run's settings.
        return [sys.executable, "manage.py", "shell", "-c", code]
    return ["bash", "-euo", "pipefail", "-c", code]


@pytest.mark.parametrize(
    "block", [b for b in BLOCKS if b.runnable], ids=[b.name for b in BLOCKS if b.runnable]
)
def test_the_block_runs(block, local_run):
    if block.not_run is not None:
        pytest.skip(f"not run: {block.not_run}")
    env = {
        **local_run.env(),
        # `python` and the project's tools are the virtualenv's, as after `make install`.
        "PATH": f"{BASE_DIR / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
    }
    done = subprocess.run(
        command(block, localized(block.code, local_run)),
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT,
    )
    assert done.returncode == 0, (
        f"{block.name} exited {done.returncode}\n--- stdout\n{done.stdout[-3000:]}"
        f"\n--- stderr\n{done.stderr[-3000:]}"
    )
