"""Real processes for the end-to-end tests: Celery workers on the real Redis and test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

BASE_DIR = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """The URL of the database the current test runs on (pytest-django's test_* database)."""
    db = settings.DATABASES["default"]
    if "sqlite" in db["ENGINE"]:
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    password = db.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else f"{user}@"
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def process_env(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DEBUG="true",
        DATABASE_URL=database_url(),
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        CACHE_URL=os.environ.get("CACHE_URL", ""),
        PYTHONUNBUFFERED="1",
        DATABASE_CONN_MAX_AGE="0",
    )
    env.update(overrides)
    return {k: v for k, v in env.items() if v != ""}


class WorkerProcess:
    def __init__(
        self,
        queues: str,
        *,
        concurrency: int = 1,
        pool: str = "prefork",
        env: dict[str, str] | None = None,
        name: str | None = None,
    ) -> None:
        self.name = name or f"test-{uuid.uuid4().hex[:6]}@%h"
        self.args = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "worker",
            "worker",
            "-Q",
            queues,
            "-c",
            str(concurrency),
            "-P",
            pool,
            "-n",
            self.name,
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
        ]
        self.env = env or process_env()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = BASE_DIR / "var" / "test-logs" / f"{uuid.uuid4().hex[:8]}.log"

    def start(self) -> WorkerProcess:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        handle = self.log.open("ab")  # a restarted worker keeps its earlier output
        self.proc = subprocess.Popen(
            self.args,
            cwd=BASE_DIR,
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill9(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if not self.proc or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.kill9()


@contextmanager
def running_worker(queues: str = "default", **kwargs: object) -> Iterator[WorkerProcess]:
    worker = WorkerProcess(queues, **kwargs).start()  # type: ignore[arg-type]
    try:
        yield worker
    finally:
        worker.stop()


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def purge_test_broker() -> None:
    """Empty the tests' broker: queued tasks, countdowns and what workers had reserved."""
    from django.conf import settings

    # Only when scripts/test.sh says this broker is the tests' own, never one `make run` may use.
    if not settings.BROKER_IS_REDIS or os.environ.get("LEGUAS_TEST_FLUSH_BROKER") != "1":
        return
    import redis

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
