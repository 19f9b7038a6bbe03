"""Tasks for live tests of the worker itself, loaded with `--include tests.worker_probe`."""

from __future__ import annotations

from celery import shared_task
from django.core.cache import cache
from django.db import connection


@shared_task(name="tests.probe.backend_pid")
def backend_pid(key: str) -> int:
    """Which PostgreSQL server process served this task, left in the cache under `key`."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = int(cursor.fetchone()[0])
    cache.set(key, pid, 120)
    return pid
