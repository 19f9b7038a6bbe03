"""The embedded fallback: with no Redis, a task still runs through kombu's SQLite transport."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from tests.live import BASE_DIR, WorkerProcess, process_env, wait_until

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


def test_a_task_runs_through_the_sqlite_broker(tmp_path):
    env = process_env(
        CELERY_BROKER_URL=f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}",
        CACHE_URL=f"file://{tmp_path / 'cache'}",
        CELERY_RESULT_BACKEND=f"db+sqlite:///{tmp_path / 'results.sqlite3'}",
    )
    nonce = uuid.uuid4().hex
    worker = WorkerProcess("default", pool="solo", env=env).start()
    try:
        publish = subprocess.run(
            [
                sys.executable,
                "-c",
                "import django; django.setup(); from worker.tasks import ping; "
                f"ping.delay({nonce!r})",
            ],
            cwd=BASE_DIR,
            env={**env, "DJANGO_SETTINGS_MODULE": "leguas.settings"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert publish.returncode == 0, publish.stderr
        # Read the cache the way the worker wrote it: through the same file-based backend.
        probe = [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.core.cache import cache; "
            f"import sys; sys.exit(0 if cache.get('worker-ping:{nonce}') else 1)",
        ]

        def ran() -> bool:
            return (
                subprocess.run(
                    probe,
                    cwd=BASE_DIR,
                    env={**env, "DJANGO_SETTINGS_MODULE": "leguas.settings"},
                    capture_output=True,
                    timeout=60,
                ).returncode
                == 0
            )

        assert wait_until(ran, timeout=60, interval=1), worker.output()
    finally:
        worker.stop()
