"""Beat survives a database outage at the moment it reads its whole schedule again."""

from __future__ import annotations

import pytest
from celery.utils.imports import symbol_by_name
from django.conf import settings
from django.db import OperationalError
from django_celery_beat import schedulers

from whatsapp import beat_scheduler
from worker.celery import app

# The scheduler closes stale connections itself (close_old_connections), as beat does.
pytestmark = pytest.mark.django_db(transaction=True)


def test_beat_runs_the_scheduler_that_survives_a_database_outage():
    assert settings.CELERY_BEAT_SCHEDULER == beat_scheduler.PATH
    assert app.conf.beat_scheduler == beat_scheduler.PATH


def test_a_full_read_during_an_outage_keeps_the_last_schedule_and_is_tried_again(monkeypatch):
    scheduler = symbol_by_name(settings.CELERY_BEAT_SCHEDULER)(app=app)
    before = dict(scheduler.schedule)
    assert before  # at least celery.backend_cleanup, which the library installs

    def refused(self):
        raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")

    # The schedule changed (or 5 minutes passed), and the database is gone at that moment.
    monkeypatch.setattr(schedulers.DatabaseScheduler, "schedule_changed", lambda self: True)
    monkeypatch.setattr(schedulers.DatabaseScheduler, "all_as_schedule", refused)
    assert scheduler.schedule.keys() == before.keys()
    monkeypatch.setattr(
        schedulers.DatabaseScheduler, "schedule_changed", lambda self: False
    )  # nothing new: only the retry reads it again
    reads = []
    monkeypatch.setattr(
        schedulers.DatabaseScheduler,
        "all_as_schedule",
        lambda self: reads.append(1) or before,
    )
    assert scheduler.schedule.keys() == before.keys()
    assert reads == [1]
