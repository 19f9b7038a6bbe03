from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def _purge_test_broker() -> None:
    """Messages left by an earlier, interrupted run must not leak into this one."""
    from django.conf import settings

    # Only the test database number (scripts/test.sh): never a broker a `make run` may be using.
    if not settings.BROKER_IS_REDIS or not settings.CELERY_BROKER_URL.endswith("/14"):
        return
    import redis

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
