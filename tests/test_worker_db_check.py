"""whatsapp.W005: kept database connections need CELERY_DB_REUSE_MAX in workers."""

from __future__ import annotations

from django.conf import settings as django_settings

from whatsapp.checks import check_worker_connections


def test_kept_connections_without_reuse_in_workers_are_warned_about(settings, monkeypatch):
    monkeypatch.setitem(django_settings.DATABASES["default"], "CONN_MAX_AGE", 60)
    del settings.CELERY_DB_REUSE_MAX
    (warning,) = check_worker_connections()
    assert warning.id == "whatsapp.W005" and "CELERY_DB_REUSE_MAX" in warning.hint


def test_no_warning_with_reuse_set_or_with_no_kept_connections(settings, monkeypatch):
    monkeypatch.setitem(django_settings.DATABASES["default"], "CONN_MAX_AGE", 60)
    settings.CELERY_DB_REUSE_MAX = 1000
    assert check_worker_connections() == []
    monkeypatch.setitem(django_settings.DATABASES["default"], "CONN_MAX_AGE", 0)
    del settings.CELERY_DB_REUSE_MAX
    assert check_worker_connections() == []
