"""Entry point of `make run` (see worker/localrun.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from worker.localrun import main

if __name__ == "__main__":
    sys.exit(main())
