#!/usr/bin/env python3
"""`make screenshots`: pictures of every page under docs/screenshots/, taken by Playwright.

It reuses the browser tests' fixtures (live server, real workers, the simulator), so it needs what
`make test` needs: PostgreSQL and Redis (scripts/services.sh) and Debian's chromium.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent


def main() -> int:
    subprocess.run([str(BASE / "scripts" / "services.sh")], check=True)
    env = dict(os.environ)
    env.setdefault("DEBUG", "true")
    env.setdefault("DATABASE_URL", "postgres://postgres:postgres@127.0.0.1:5432/test")
    # Redis databases of their own: neither `make run` nor `make test` loses anything.
    env.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/12")
    env.setdefault("CACHE_URL", "redis://127.0.0.1:6379/13")
    env["LEGUAS_TEST_FLUSH_BROKER"] = "1"
    env["LEGUAS_SCREENSHOTS"] = "1"
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        "tests/browser/screenshots.py",
    ]
    result = subprocess.run(command, cwd=BASE, env=env, check=False)
    if result.returncode == 0:
        for path in sorted((BASE / "docs" / "screenshots").glob("*.png")):
            print(f"saved {path.relative_to(BASE)} ({path.stat().st_size // 1024} KiB)")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
