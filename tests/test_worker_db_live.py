"""A worker keeps its PostgreSQL connection between tasks (CONN_MAX_AGE), and drops a dead one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from celery import current_app
from django.core.cache import cache
from django.db import connection

from tests.live import WorkerProcess, process_env, purge_test_broker, wait_until

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


def served_by(queue: str) -> int:
    """Run the probe on the worker; the backend process id it used."""
    key = f"test-probe-{uuid.uuid4().hex}"
    current_app.send_task("tests.probe.backend_pid", args=[key], queue=queue)
    assert wait_until(lambda: cache.get(key) is not None, timeout=60), "the probe never ran"
    return int(cache.get(key))


@contextmanager
def probe_worker(max_age: str) -> Iterator[str]:
    """A worker on a queue of its own with the probe task loaded; yields the queue."""
    purge_test_broker()
    queue = f"probe-{uuid.uuid4().hex[:6]}"
    worker = WorkerProcess(queue, env=process_env(DATABASE_CONN_MAX_AGE=max_age))
    worker.args += ["--include", "tests.worker_probe"]
    worker.start()
    try:
        yield queue
    finally:
        worker.stop()


def test_a_worker_serves_its_tasks_on_one_connection_and_replaces_a_dead_one():
    with probe_worker("60") as queue:
        first = served_by(queue)
        assert served_by(queue) == first
        assert served_by(queue) == first
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [first])
        # The kept connection fails its health check before the task's first query.
        again = served_by(queue)
        assert again != first
        assert served_by(queue) == again


def test_with_no_connection_age_each_task_has_its_own_connection():
    with probe_worker("0") as queue:
        assert served_by(queue) != served_by(queue)
