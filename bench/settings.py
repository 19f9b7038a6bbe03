"""The product's settings, serving the bench's floor views beside the product's URLs."""

from __future__ import annotations

import os

from leguas.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
# The instance the floor's rows belong to (a row needs one, as the product's do).
BENCH_FLOOR_INSTANCE = int(os.environ.get("BENCH_FLOOR_INSTANCE", "0"))
