"""The process runner of `make run`: one process exiting never takes the others down."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.live import BASE_DIR, wait_until
from worker.supervisor import read_state, send_request

pytestmark = pytest.mark.live

SLEEPER = f"{sys.executable} -c 'import time; time.sleep(120)'"


def start_supervisor(tmp_path: Path, processes: dict[str, str]) -> subprocess.Popen[bytes]:
    """The supervisor in its own process (it owns SIGINT there), with output in a file."""
    script = textwrap.dedent(
        f"""
        import json, sys
        from pathlib import Path
        from worker.supervisor import Supervisor
        supervisor = Supervisor(
            json.loads({json.dumps(json.dumps(processes))}),
            env=dict(__import__("os").environ),
            cwd={str(BASE_DIR)!r},
            run_dir=Path({str(tmp_path / "run")!r}),
            control_hint="run.py",
        )
        sys.exit(supervisor.loop())
        """
    )
    log = (tmp_path / "out.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=BASE_DIR,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def output(tmp_path: Path) -> str:
    return (tmp_path / "out.log").read_text(errors="replace")


def state(tmp_path: Path) -> dict:
    return read_state(tmp_path / "run") or {"processes": {}}


def pid_of(tmp_path: Path, name: str) -> int | None:
    return state(tmp_path)["processes"].get(name, {}).get("pid")


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


@pytest.fixture
def stop_after():
    started: list[subprocess.Popen[bytes]] = []
    yield started.append
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(30)


def test_a_killed_process_is_restarted_and_the_others_keep_running(tmp_path, stop_after):
    runner = start_supervisor(tmp_path, {"steady": SLEEPER, "victim": SLEEPER})
    stop_after(runner)
    assert wait_until(lambda: pid_of(tmp_path, "steady") and pid_of(tmp_path, "victim"), 30)
    steady, victim = pid_of(tmp_path, "steady"), pid_of(tmp_path, "victim")

    os.killpg(victim, signal.SIGKILL)

    assert wait_until(lambda: pid_of(tmp_path, "victim") not in (None, victim), 30), output(
        tmp_path
    )
    assert pid_of(tmp_path, "steady") == steady and alive(steady)
    assert "victim exited" in output(tmp_path)
    assert "the others keep running" in output(tmp_path)
    assert runner.poll() is None


def test_a_process_that_keeps_failing_is_left_stopped_with_the_command_to_start_it(
    tmp_path, stop_after, monkeypatch
):
    crashing = f"{sys.executable} -c 'import sys; print(\"port busy\"); sys.exit(3)'"
    runner = start_supervisor(tmp_path, {"steady": SLEEPER, "crashing": crashing})
    stop_after(runner)
    # Backoff 1 + 2 + 4 + 8 s before the fifth exit.
    assert wait_until(lambda: "not restarting it" in output(tmp_path), 60), output(tmp_path)
    text = output(tmp_path)
    assert text.count("crashing exited") == 5
    assert "run.py start crashing" in text
    # The state file is written just after the line is printed.
    assert wait_until(
        lambda: state(tmp_path)["processes"].get("crashing", {}).get("state") == "gave up", 10
    ), state(tmp_path)
    assert alive(pid_of(tmp_path, "steady"))


def test_stop_keeps_one_process_down_until_start(tmp_path, stop_after):
    runner = start_supervisor(tmp_path, {"steady": SLEEPER, "simulator": SLEEPER})
    stop_after(runner)
    assert wait_until(lambda: pid_of(tmp_path, "simulator"), 30)
    first = pid_of(tmp_path, "simulator")

    send_request(tmp_path / "run", "stop", "simulator")
    assert wait_until(lambda: not alive(first), 30)
    assert wait_until(lambda: state(tmp_path)["processes"]["simulator"]["state"] == "stopped", 10)
    # Held: not restarted behind the person's back.
    assert not wait_until(lambda: pid_of(tmp_path, "simulator"), 3)
    assert "run.py start simulator" in output(tmp_path)

    send_request(tmp_path / "run", "start", "simulator")
    assert wait_until(lambda: alive(pid_of(tmp_path, "simulator")), 30)
    assert alive(pid_of(tmp_path, "steady"))


def test_ctrl_c_stops_every_process(tmp_path):
    runner = start_supervisor(tmp_path, {"one": SLEEPER, "two": SLEEPER})
    assert wait_until(lambda: pid_of(tmp_path, "one") and pid_of(tmp_path, "two"), 30)
    pids = [pid_of(tmp_path, "one"), pid_of(tmp_path, "two")]
    os.killpg(runner.pid, signal.SIGINT)
    assert runner.wait(30) == 130
    assert wait_until(lambda: not any(alive(p) for p in pids), 15)
    assert "SIGINT received" in output(tmp_path)
