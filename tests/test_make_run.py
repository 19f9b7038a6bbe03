"""`make run` for real, as a newcomer meets it: settings from `.env`, every process up, one process
exiting leaves the others running, commands beside it need no variables, the embedded SQLite holds
under its own workers, and Ctrl-C leaves nothing behind.

The tests of this module share one run, in order; the last one stops it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.live import BASE_DIR, wait_until

pytestmark = pytest.mark.live

LOAD_MESSAGES = 200


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


def cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


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


def reachable(url: str) -> bool:
    try:
        requests.get(url, timeout=2)
    except requests.RequestException:
        return False
    return True


def bare_env(**extra: str) -> dict[str, str]:
    """What a person's shell has: no DEBUG, no database or broker variables."""
    keep = {"PATH", "HOME", "LANG", "TERM", "USER"}
    return {**{k: v for k, v in os.environ.items() if k in keep}, **extra}


class LocalRun:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.marker = uuid.uuid4().hex
        self.web, self.flower, self.simulator = free_port(), free_port(), free_port()
        self.env_file = tmp / ".env"
        self.log_path = tmp / "run.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web}"

    @property
    def sim_url(self) -> str:
        return f"http://127.0.0.1:{self.simulator}"

    def write_env_file(self) -> None:
        # Everything a newcomer would put in .env: the ports, and where the data goes.
        self.env_file.write_text(
            "\n".join(
                [
                    f"WEB_PORT={self.web}",
                    f"FLOWER_PORT={self.flower}",
                    f"SIMULATOR_PORT={self.simulator}",
                    f"LEGUAS_VAR_DIR={self.tmp / 'var'}",
                    # The tests' Redis server, other database numbers than make test's.
                    f"CELERY_BROKER_URL={redis_server()}/7",
                    f"CACHE_URL={redis_server()}/6",
                    "DJANGO_SUPERUSER_PASSWORD=make-run-test-password",
                    "WHATSAPP_HEALTH_INTERVAL=2",
                    "",
                ]
            )
        )

    def env(self) -> dict[str, str]:
        return bare_env(LEGUAS_ENV_FILE=str(self.env_file), LEGUAS_RUN_MARKER=self.marker)

    def start(self) -> None:
        self.write_env_file()
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            ["make", "--no-print-directory", "run"],
            cwd=BASE_DIR,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def pids(self) -> list[int]:
        return marked_pids(f"LEGUAS_RUN_MARKER={self.marker}")

    def pid_running(self, needle: str) -> int | None:
        found = [pid for pid in self.pids() if needle in cmdline(pid)]
        return min(found) if found else None

    def manage(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        """`manage.py` as a person types it beside the run: no variables of their own."""
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
            env={**self.env(), **extra},
            capture_output=True,
            text=True,
            timeout=120,
        )

    def shell(self, code: str) -> str:
        done = self.manage("shell", "-c", code)
        assert done.returncode == 0, done.stderr
        # Django's shell announces its automatic imports first: the answer is the last line.
        lines = done.stdout.strip().splitlines()
        return lines[-1] if lines else ""

    def control(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "scripts/run.py", *args],
            cwd=BASE_DIR,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=60,
        )

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)  # what Ctrl-C sends to the foreground group
            self.proc.wait(60)


@pytest.fixture(scope="module")
def local_run(tmp_path_factory) -> Any:
    run = LocalRun(tmp_path_factory.mktemp("make-run"))
    run.start()
    try:
        yield run
    finally:
        run.stop()
        for pid in run.pids():
            os.kill(pid, signal.SIGKILL)


def test_make_run_reads_dotenv_and_starts_everything(local_run):
    assert wait_until(lambda: answers(f"{local_run.url}/accounts/login/"), 180, 0.5), (
        local_run.log()
    )
    flower = f"http://127.0.0.1:{local_run.flower}/"
    # Flower shows task arguments and tracebacks: it asks for the admin's credentials.
    assert wait_until(lambda: reachable(flower), 60, 0.5)
    assert requests.get(flower, timeout=5).status_code == 401
    auth = ("admin", "make-run-test-password")
    assert requests.get(flower, auth=auth, timeout=5).status_code == 200
    assert "Flower as 'admin' with password: make-run-test-password" in local_run.log()
    assert answers(f"{local_run.sim_url}/healthz")
    assert answers(f"{local_run.url}/healthz")
    # Ready once beat's heartbeat (written by the real beat of the run) is in the cache.
    assert wait_until(lambda: answers(f"{local_run.url}/readyz"), 60, 0.5)
    # run.py (and make), web, 2 workers (+ children), beat, flower, simulator
    assert len(local_run.pids()) >= 7
    assert "Created admin user 'admin'" in local_run.log()


def test_manage_py_beside_the_run_needs_no_variables(local_run):
    created = local_run.manage("whatsapp_apikey", "create", "newcomer")
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip().startswith("lw_")
    # The same database as the run: the web process accepts the key.
    answer = requests.get(
        f"{local_run.url}/api/v1/messages",
        headers={"Authorization": f"Bearer {created.stdout.strip()}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    listed = local_run.manage("whatsapp_apikey", "list")
    assert "newcomer" in listed.stdout


def test_a_killed_simulator_is_restarted_and_nothing_else_stops(local_run):
    watched = {
        name: local_run.pid_running(needle)
        for name, needle in {
            "web": "runserver",
            "sessions": "-n sessions@",
            "main": "-n main@",
            "beat": " beat ",
        }.items()
    }
    assert all(watched.values()), watched
    simulator = local_run.pid_running("whatsapp.simulator")
    assert simulator

    os.kill(simulator, signal.SIGKILL)

    assert wait_until(
        lambda: local_run.pid_running("whatsapp.simulator") not in (None, simulator), 30
    ), local_run.log()
    assert wait_until(lambda: answers(f"{local_run.sim_url}/healthz"), 30)
    assert answers(f"{local_run.url}/healthz")
    for name, pid in watched.items():
        assert (
            local_run.pid_running(
                {
                    "web": "runserver",
                    "sessions": "-n sessions@",
                    "main": "-n main@",
                    "beat": " beat ",
                }[name]
            )
            == pid
        ), f"{name} was restarted or stopped"
    assert "simulator exited" in local_run.log()


def test_the_simulator_can_be_stopped_for_a_while_and_started_again(local_run):
    stopped = local_run.control("stop", "simulator")
    assert stopped.returncode == 0, stopped.stderr
    assert wait_until(lambda: not answers(f"{local_run.sim_url}/healthz"), 30)
    # Held down: the gateway outage lasts as long as the person wants.
    assert not wait_until(lambda: answers(f"{local_run.sim_url}/healthz"), 4)
    assert answers(f"{local_run.url}/healthz")
    status = local_run.control("status")
    assert "simulator" in status.stdout and "stopped" in status.stdout

    assert local_run.control("start", "simulator").returncode == 0
    assert wait_until(lambda: answers(f"{local_run.sim_url}/healthz"), 30)


def connect_default_instance(run: LocalRun) -> None:
    run.shell(
        "from whatsapp.models import Instance\n"
        "from whatsapp.services.operations import request_operation\n"
        "i = Instance.objects.get(is_default=True)\n"
        "Instance.objects.filter(pk=i.pk).update(min_gap_seconds=0, max_gap_seconds=0,"
        " cap_per_minute=0, cap_per_hour=0, cap_per_day=0)\n"
        "request_operation(i, 'start')\n"
    )

    def waiting_for_scan() -> bool:
        sessions = requests.get(f"{run.sim_url}/_sim/sessions", timeout=5).json()["sessions"]
        return any(s["name"] == "leguas" and s["status"] == "QRCODE" for s in sessions)

    assert wait_until(waiting_for_scan, 60, 0.5), run.log()
    requests.post(f"{run.sim_url}/_sim/sessions/leguas/scan", json={}, timeout=5)
    assert wait_until(
        lambda: (
            run.shell(
                "from whatsapp.models import Instance; "
                "print(Instance.objects.get(is_default=True).connected)"
            )
            == "True"
        ),
        60,
        1,
    ), run.log()


def test_the_embedded_sqlite_holds_under_its_own_workers(local_run):
    """Sends, acks, event applies, dispatch and health at once: no "database is locked"."""
    connect_default_instance(local_run)
    local_run.shell(
        "from whatsapp import api\n"
        f"for n in range({LOAD_MESSAGES}):\n"
        "    api.send_text('+55 21 9' + str(81000001 + n), 'load %s' % n)\n"
    )

    def unfinished() -> int:
        return int(
            local_run.shell(
                "from whatsapp.models import OutboundMessage; "
                "print(OutboundMessage.objects.exclude(status='read').count())"
            )
        )

    assert wait_until(lambda: unfinished() == 0, 240, 2), (unfinished(), local_run.log()[-5000:])
    log = local_run.log()
    assert "database is locked" not in log, log[log.find("database is locked") - 3000 :][:6000]
    assert "Traceback" not in log, log[log.find("Traceback") - 500 :][:4000]
    assert (
        requests.get(f"{local_run.sim_url}/_sim/ledger", timeout=5).json()["count"] == LOAD_MESSAGES
    )


def test_ctrl_c_stops_every_process(local_run):
    assert local_run.pids()
    local_run.stop()
    assert wait_until(lambda: not local_run.pids(), 20), local_run.pids()
    assert "SIGINT received" in local_run.log()


def test_a_busy_port_is_refused_up_front_naming_the_variable(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env_file = tmp_path / ".env"
        env_file.write_text(f"WEB_PORT={port}\nLEGUAS_VAR_DIR={tmp_path / 'var'}\n")
        done = subprocess.run(
            ["make", "--no-print-directory", "run"],
            cwd=BASE_DIR,
            env=bare_env(LEGUAS_ENV_FILE=str(env_file)),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode != 0
    assert f"Port {port} is already in use" in done.stderr
    assert f"WEB_PORT={port + 1}" in done.stderr
    # Refused before anything ran: no migration, no process.
    assert "migrat" not in done.stdout.lower()
    assert not (tmp_path / "var" / "db.sqlite3").exists()
