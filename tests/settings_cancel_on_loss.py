"""The project's settings with Celery's cancel-on-connection-loss on: the alternative that
tests/test_broker_outage_live.py measures against the chosen setting."""

from leguas.settings import *  # noqa: F403

CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
