"""The product's processes as production runs them: gunicorn, one Celery worker per queue group
(as `make run` and compose split them), beat. Each logs to var/faults/logs/."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
LOG_DIR = BASE_DIR / "var" / "faults" / "logs"
CELERY = [sys.executable, "-m", "celery", "-A", "worker"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def worker_args(name: str, queues: str, concurrency: int) -> list[str]:
    return [
        *CELERY, "worker", "-Q", queues, "-c", str(concurrency), "-n", f"{name}@%h",
        "--loglevel", "INFO", "--without-gossip", "--without-mingle",
        # The poison message of the suite kills the child that takes it (faults/poison.py).
        "--include", "faults.poison",
    ]  # fmt: skip


class Proc:
    def __init__(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.args = args
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = LOG_DIR / f"{name}.log"
        self.starts = 0
        self.mark = 0

    def start(self) -> Proc:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.mark = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as handle:
            self.proc = subprocess.Popen(
                self.args,
                cwd=BASE_DIR,
                env=self.env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def since_start(self) -> str:
        # `mark` counts bytes (the file's size at start): slice the bytes, then decode, or a log
        # with non-ASCII text ("…" of a masked number) shifts the cut past this start's lines.
        if not self.log.exists():
            return ""
        return self.log.read_bytes()[self.mark :].decode(errors="replace")

    def ready(self) -> bool:
        return self.alive() and "ready." in self.since_start()

    def children(self) -> list[int]:
        """The pool's child processes (prefork)."""
        path = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        try:
            return [int(p) for p in path.read_text().split()]
        except OSError:
            return []

    def kill9(self) -> None:
        if self.alive():
            assert self.proc is not None
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self) -> None:
        """SIGTERM to the main process only, as an orchestrator's stop does (warm shutdown)."""
        if self.alive():
            os.kill(self.pid, signal.SIGTERM)

    def wait(self, seconds: float) -> bool:
        assert self.proc is not None
        try:
            self.proc.wait(seconds)
        except subprocess.TimeoutExpired:
            return False
        return True

    def stop(self) -> None:
        if not self.alive():
            return
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGTERM)
        if not self.wait(20):
            self.kill9()


class Processes:
    """web, worker-sessions, worker-main, worker-housekeeping and beat."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.web_port = free_port()
        self.procs: dict[str, Proc] = {}
        self.exits: list[str] = []
        for proc in (
            Proc("web", self.web_args(), env),
            Proc("worker-sessions", worker_args("sessions", "sessions", 2), env),
            Proc("worker-main", worker_args("main", "messages,default", 4), env),
            Proc("worker-housekeeping", worker_args("housekeeping", "housekeeping", 1), env),
            Proc("beat", [*CELERY, "beat", "--loglevel", "INFO"], env),
        ):
            self.procs[proc.name] = proc

    def web_args(self) -> list[str]:
        return [
            sys.executable, "-m", "gunicorn", "leguas.wsgi:application", "--bind",
            f"127.0.0.1:{self.web_port}", "--workers", "3", "--threads", "8", "--worker-class",
            "gthread", "--timeout", "60",
        ]  # fmt: skip

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def __getitem__(self, name: str) -> Proc:
        return self.procs[name]

    def workers(self) -> list[Proc]:
        return [p for name, p in self.procs.items() if name.startswith("worker-")]

    def start(self) -> None:
        for proc in self.procs.values():
            proc.start()
        self.wait_ready()

    def wait_ready(self, timeout: float = 120) -> None:
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = all(w.ready() for w in self.workers())
            try:
                web = requests.get(f"{self.url}/healthz", timeout=2).status_code < 500
            except requests.RequestException:
                web = False
            if ready and web:
                return
            time.sleep(0.5)
        raise RuntimeError("the stack did not come up; see var/faults/logs/")

    def revive(self) -> list[str]:
        """Start again what exited, as `make run`'s supervisor and compose do; name them."""
        gone = [name for name, proc in self.procs.items() if not proc.alive()]
        for name in gone:
            self.exits.append(name)
            self.procs[name].start()
        return gone

    def add(self, proc: Proc) -> Proc:
        self.procs[proc.name] = proc
        return proc.start()

    def remove(self, name: str) -> None:
        self.procs.pop(name).stop()

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.stop()
