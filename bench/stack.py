"""A production-like stack for benchmarks: gunicorn, real Celery workers, Redis, PostgreSQL and the
WPPConnect simulator, all on this machine. Used by the bench scripts; not by the tests."""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

BENCH_DB = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres:postgres@127.0.0.1:5432/leguas_bench"
)
BENCH_BROKER = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/8")
BENCH_CACHE = os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/9")
GATEWAY_SECRET = "bench-gateway-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DEBUG="true",
        DATABASE_URL=BENCH_DB,
        CELERY_BROKER_URL=BENCH_BROKER,
        CACHE_URL=BENCH_CACHE,
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="leguas.settings",
    )
    env.update(extra)
    return env


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(
        {
            k: v
            for k, v in env.items()
            if k not in os.environ
            or k
            in {
                "DEBUG",
                "DATABASE_URL",
                "CELERY_BROKER_URL",
                "CACHE_URL",
                "LOG_LEVEL",
                "WHATSAPP_PUBLIC_URL",
                "DJANGO_SETTINGS_MODULE",
            }
        }
    )
    import django

    django.setup()


def standalone_django() -> None:
    """For a bench script run on its own: the bench services (emptied, migrated), then Django."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="leguas.settings",
        DEBUG="true",
        DATABASE_URL=BENCH_DB,
        CELERY_BROKER_URL=BENCH_BROKER,
        CACHE_URL=BENCH_CACHE,
        LOG_LEVEL="WARNING",
    )
    prepare_database()
    import django

    django.setup()


def worker_env(**extra: str) -> dict[str, str]:
    """Production settings for bench workers (`DEBUG` off: no query log, production logging),
    with the bench process's encryption key so they read the gateway secrets it stored, and a
    database connection kept between tasks (`DATABASE_CONN_MAX_AGE=60`, the default)."""
    import secrets

    from django.conf import settings

    from tests.live import process_env

    settings_env: dict[str, str] = dict(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        WPPCONNECT_SECRET_KEY=secrets.token_urlsafe(24),
        WHATSAPP_ENCRYPTION_KEY=str(settings.WHATSAPP["ENCRYPTION_KEY"]),
        WHATSAPP_PUBLIC_URL="https://127.0.0.1",
        DATABASE_CONN_MAX_AGE="60",
    )
    return process_env(**{**settings_env, **extra})


def prepare_database() -> None:
    """Create the bench database if needed, migrate it, and empty the broker and cache."""
    import psycopg
    import redis

    name = BENCH_DB.rsplit("/", 1)[1]
    admin_url = BENCH_DB.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=BASE_DIR,
        env=base_env(),
        check=True,
    )
    for url in (BENCH_BROKER, BENCH_CACHE):
        redis.Redis.from_url(url).flushdb()


class Processes:
    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            args,
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def wait_for_http(url: str, seconds: float = 30) -> None:
    import requests

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def running_stack(
    web_port: int, env: dict[str, str], *, workers: list[tuple[str, int]]
) -> Iterator[str]:
    """gunicorn on web_port plus one Celery worker per (queues, concurrency)."""
    from tests.live import WorkerProcess

    procs = Processes()
    celery_workers: list[WorkerProcess] = []
    try:
        procs.start(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "leguas.wsgi:application",
                "--bind",
                f"127.0.0.1:{web_port}",
                "--workers",
                "3",
                "--threads",
                "8",
                "--worker-class",
                "gthread",
            ],
            env,
        )
        for queues, concurrency in workers:
            celery_workers.append(
                WorkerProcess(queues, concurrency=concurrency, env=env, name=f"bench-{queues}@%h")
            )
            celery_workers[-1].start()
        url = f"http://127.0.0.1:{web_port}"
        wait_for_http(f"{url}/healthz")
        yield url
    finally:
        for worker in celery_workers:
            worker.stop()
        procs.stop()


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    if not ordered:
        return {"n": 0, "p50": 0.0, "p95": 0.0, "p99": 0.0}
    cuts = (
        statistics.quantiles(ordered, n=100, method="inclusive")
        if len(ordered) > 1
        else [ordered[0]] * 99
    )
    return {
        "n": len(ordered),
        "p50": round(cuts[49], 2),
        "p95": round(cuts[94], 2),
        "p99": round(cuts[98], 2),
    }


def write_section(heading: str, body: str) -> Path:
    """Replace one `## heading` section of docs/benchmarks.md, keeping the others."""
    path = BASE_DIR / "docs" / "benchmarks.md"
    text = (
        path.read_text()
        if path.exists()
        else "# Benchmarks\n\nMeasured on the development machine (2 cores); each section says how it was produced.\n"
    )
    marker = f"## {heading}"
    section = f"{marker}\n\n{body.strip()}\n"
    if marker in text:
        start = text.index(marker)
        nxt = text.find("\n## ", start + len(marker))
        text = text[:start] + section + ("" if nxt == -1 else text[nxt:])
    else:
        text = text.rstrip() + "\n\n" + section
    path.write_text(text)
    return path


def empty_messages() -> None:
    """Every message and what hangs off it, gone in one statement: the ORM's delete would load a
    million-row backlog into this process first."""
    from django.db import connection

    from whatsapp.models import OutboundMessage

    with connection.cursor() as cursor:
        cursor.execute(f'TRUNCATE "{OutboundMessage._meta.db_table}" CASCADE')
