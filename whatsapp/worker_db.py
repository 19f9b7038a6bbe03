"""Database connections in Celery workers, kept and checked the way Django does for requests.

Celery's Django fixup closes every connection after every task unless `CELERY_DB_REUSE_MAX` is
set (celery#4116; honouring `CONN_MAX_AGE` was reverted in celery#9824). Each send then opened a
new PostgreSQL connection: a server process forked, authenticated and configured, per message.
With `CELERY_DB_REUSE_MAX` set the fixup only closes every so many tasks, and these handlers do
around each task what Django's request signals do around a request (`close_old_connections`):
close a connection that had an error and no longer answers, that outlived `CONN_MAX_AGE` or that
a task left inside a transaction, and check a kept one (`CONN_HEALTH_CHECKS`) before its first
use. With `CONN_MAX_AGE = 0` (Django's default) every task still gets a new connection.
"""

from __future__ import annotations

from typing import Any

from django.db import close_old_connections

_connected = False


def _tidy(sender: Any = None, **_kwargs: Any) -> None:
    # An eager task runs inside its caller, maybe inside its transaction (a test's): not ours.
    request = getattr(sender, "request", None)
    if getattr(request, "is_eager", False):
        return
    close_old_connections()


def connect() -> None:
    global _connected
    if _connected:
        return
    _connected = True
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(_tidy, weak=False, dispatch_uid="whatsapp-db-before-task")
    task_postrun.connect(_tidy, weak=False, dispatch_uid="whatsapp-db-after-task")
