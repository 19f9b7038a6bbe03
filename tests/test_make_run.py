"""`make run` for real: every process comes up, the pages answer, Ctrl-C leaves nothing behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from tests.live import BASE_DIR, wait_until

pytestmark = pytest.mark.live


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def marked_pids(marker: str) -> list[int]:
    """Processes whose environment carries the marker: everything the run started."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def redis_server() -> str:
    """redis://host:port of the Redis the tests use (scripts/test.sh may point elsewhere)."""
    from urllib.parse import urlsplit

    from django.conf import settings

    parts = urlsplit(settings.CELERY_BROKER_URL)
    return f"redis://{parts.hostname or '127.0.0.1'}:{parts.port or 6379}"


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_make_run_starts_everything_and_ctrl_c_stops_everything(tmp_path):
    marker = f"LEGUAS_RUN_MARKER={uuid.uuid4().hex}"
    web, flower, simulator = free_port(), free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "WPPCONNECT_URL"}},
        "LEGUAS_RUN_MARKER": marker.split("=", 1)[1],
        "LEGUAS_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        # The tests' Redis server, other database numbers: `make run`'s own data stays apart.
        "CELERY_BROKER_URL": f"{redis_server()}/7",
        "CACHE_URL": f"{redis_server()}/6",
        "WEB_PORT": str(web),
        "FLOWER_PORT": str(flower),
        "SIMULATOR_PORT": str(simulator),
        "DJANGO_SUPERUSER_PASSWORD": "make-run-test-password",
    }
    log = (tmp_path / "run.log").open("wb")
    run = subprocess.Popen(
        [sys.executable, "scripts/run.py"],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        assert wait_until(lambda: answers(f"http://127.0.0.1:{web}/accounts/login/"), 120, 0.5), (
            tmp_path / "run.log"
        ).read_text()
        assert wait_until(lambda: answers(f"http://127.0.0.1:{flower}/"), 60, 0.5)
        assert answers(f"http://127.0.0.1:{simulator}/healthz")
        assert answers(f"http://127.0.0.1:{web}/healthz")
        started = marked_pids(marker)
        assert len(started) >= 7  # run.py, web, 2 workers (+ children), beat, flower, simulator
    finally:
        os.kill(run.pid, signal.SIGINT)  # what Ctrl-C sends to the foreground process
        run.wait(60)
    assert wait_until(lambda: not marked_pids(marker), 20), marked_pids(marker)
    output = (tmp_path / "run.log").read_text()
    assert "SIGINT received" in output
    assert "Created admin user 'admin'" in output or "admin" in output
