#!/usr/bin/env python
from __future__ import annotations

import os
import sys
from pathlib import Path


def main() -> None:
    from leguas.env import load_env_files

    # `.env` and what `make run` chose, under the real environment: commands typed beside a
    # local run reach the same database, broker and gateway.
    load_env_files(Path(__file__).resolve().parent)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leguas.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
