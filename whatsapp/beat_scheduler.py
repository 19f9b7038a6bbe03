"""Beat's scheduler: django-celery-beat's, kept running through a database outage.

django-celery-beat reads the schedule from the database again when it changed and at least
every 5 minutes. Most of its reads catch a database error and go on, but not the read of the
whole schedule (`all_as_schedule`): when PostgreSQL was down at that moment, beat exited with
`OperationalError`, and no sweep, health sample or beat dispatch ran until a supervisor started
it again. Here that read keeps the last schedule and is tried again at the next tick.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from django.db import DatabaseError, close_old_connections
from django_celery_beat import schedulers

logger = logging.getLogger(__name__)

PATH = "whatsapp.beat_scheduler:DatabaseScheduler"


class DatabaseScheduler(schedulers.DatabaseScheduler):
    @property
    def schedule(self) -> dict[str, Any]:
        try:
            return super().schedule
        except DatabaseError as exc:
            logger.warning(
                "beat could not read its schedule from the database (%s); it keeps the last "
                "one and reads it again at the next tick.",
                type(exc).__name__,
            )
            # A connection the server dropped stays broken until closed; the next read opens one.
            close_old_connections()
            self._retry_full_read()
            return self._schedule or {}

    def _retry_full_read(self) -> None:
        if not self._schedule:
            self._initial_read = True
            return
        # The library forces a full read once this is SCHEDULE_SYNC_MAX_INTERVAL old.
        self._last_full_sync = datetime.datetime.now() - datetime.timedelta(
            seconds=schedulers.SCHEDULE_SYNC_MAX_INTERVAL
        )
