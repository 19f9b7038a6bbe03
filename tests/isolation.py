"""Under pytest-xdist, each test process gets a Redis server of its own.

Loaded as a plugin (`-p tests.isolation`, pyproject's addopts), so it runs before pytest-django
reads the settings. pytest-django already gives each process its own test database
(`test_<name>_gw0`, ...); the broker and the cache need the same: live tests start Celery workers
that would otherwise take each other's tasks, and tests flush their broker and cache databases.
"""

from __future__ import annotations

import atexit
import os

_BROKER = os.environ.get("CELERY_BROKER_URL", "")

if os.environ.get("PYTEST_XDIST_WORKER") and _BROKER.startswith("redis://"):
    from tests.redis_process import RedisProcess

    _server = RedisProcess().start()
    atexit.register(_server.stop)
    _base = f"redis://127.0.0.1:{_server.port}"
    # The same database numbers as scripts/test.sh's, on this process's own server.
    os.environ["CELERY_BROKER_URL"] = f"{_base}/14"
    os.environ["CACHE_URL"] = f"{_base}/15"
