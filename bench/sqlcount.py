"""SQL statements and transactions per Celery task, counted inside bench workers only.

A worker started with `--include bench.sqlcount` counts, per task name, the statements its database
connection executes and the transactions it commits or rolls back, and adds them to a Redis hash on
the broker after each task (`bench:sql`, fields `<task>|tasks`, `<task>|statements`,
`<task>|transactions`). Round trips to PostgreSQL are then statements + 2 * transactions (BEGIN
and COMMIT or ROLLBACK each travel on their own).
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

from celery.signals import task_postrun, task_prerun, worker_process_init

KEY = "bench:sql"
_counts: Counter[str] = Counter()
_current = {"task": "outside tasks"}


# BENCH_SQL_SAMPLE=path: the statements of one run of each task are appended there, to read.
_SAMPLE = os.environ.get("BENCH_SQL_SAMPLE", "")
_sampled: set[str] = set()
_sample: list[str] = []


def _statement(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    _counts[f"{_current['task']}|statements"] += 1
    if _SAMPLE and _current["task"] not in _sampled:
        _sample.append(" ".join(sql.split())[:300])
    return execute(sql, params, many, context)


def _counting(method: Any) -> Any:
    def counted(self: Any) -> Any:
        _counts[f"{_current['task']}|transactions"] += 1
        return method(self)

    return counted


@worker_process_init.connect
def _install(**_kwargs: Any) -> None:
    from django.db import connection
    from django.db.backends.base.base import BaseDatabaseWrapper

    connection.execute_wrappers.append(_statement)
    BaseDatabaseWrapper._commit = _counting(BaseDatabaseWrapper._commit)  # type: ignore[attr-defined]
    BaseDatabaseWrapper._rollback = _counting(BaseDatabaseWrapper._rollback)  # type: ignore[attr-defined]


@task_prerun.connect
def _started(task: Any = None, **_kwargs: Any) -> None:
    _current["task"] = getattr(task, "name", "unknown")


_client: list[Any] = []


def _redis() -> Any:
    """One client per process: a new one per task cost its tasks a connection each."""
    if not _client:
        import redis
        from django.conf import settings

        _client.append(redis.Redis.from_url(settings.CELERY_BROKER_URL))
    return _client[0]


@task_postrun.connect
def _finished(task: Any = None, **_kwargs: Any) -> None:
    _counts[f"{_current['task']}|tasks"] += 1
    if _SAMPLE and _current["task"] not in _sampled:
        _sampled.add(_current["task"])
        with open(_SAMPLE, "a") as handle:
            handle.write(f"== {_current['task']} (pid {os.getpid()})\n" + "\n".join(_sample) + "\n")
    _sample.clear()
    pipe = _redis().pipeline()
    for field, value in _counts.items():
        pipe.hincrby(KEY, field, value)
    pipe.execute()
    _counts.clear()
    _current["task"] = "outside tasks"


def read(client: Any) -> dict[str, dict[str, int]]:
    """The hash as {task: {"tasks": n, "statements": n, "transactions": n}}."""
    figures: dict[str, dict[str, int]] = {}
    for field, value in client.hgetall(KEY).items():
        task, _sep, what = field.decode().partition("|")
        figures.setdefault(task, {"tasks": 0, "statements": 0, "transactions": 0})[what] = int(
            value
        )
    return figures
