"""The Celery app: `celery -A worker worker` and `celery -A worker beat` find it here."""

from __future__ import annotations

import logging.config
import os
from typing import Any

from celery import Celery
from celery.signals import setup_logging

from worker import kombu_guard

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leguas.settings")

# A kombu defect made workers exit on a Redis drop: see worker/kombu_guard.py.
kombu_guard.install()

app = Celery("leguas")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["whatsapp", "worker"])


@setup_logging.connect
def _use_django_logging(**_kwargs: Any) -> None:
    # Connecting this signal stops Celery from installing its own handlers; Django's LOGGING wins.
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
