"""Small typed readers for environment variables.

They fail loudly on a value they cannot read, so a typo in production configuration stops the
start instead of silently falling back to a default.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

# What the last `make run` chose (broker, gateway, DEBUG…), under the var directory.
LOCAL_RUN_ENV = "local-run.env"

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def env_str(name: str, default: str = "") -> str:
    # Empty counts as unset, as for the other readers: `NAME=` in .env keeps the default.
    return os.environ.get(name) or default


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}.") from None


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_secret(name: str, default: str = "") -> str:
    """Read NAME, or the contents of the file named by NAME_FILE (Docker secrets)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            with open(path, encoding="utf-8") as handle:
                return handle.read().strip()
        except OSError as exc:
            # The path is not secret; the contents are, so they never reach the message.
            raise ImproperlyConfigured(
                f"{name}_FILE points at {path!r}, which cannot be read: {exc.strerror}"
            ) from None
    return os.environ.get(name) or default


def var_dir(base_dir: Path) -> Path:
    """Where SQLite, the embedded broker, Redis data and the local run's files live."""
    return Path(os.environ.get("LEGUAS_VAR_DIR") or base_dir / "var")


def load_env_files(base_dir: Path) -> list[Path]:
    """Read `.env`, then what the last `make run` chose; the real environment wins over both.

    The one loader of `manage.py` and `make run`, so a command typed beside a local run talks to
    the same database, broker and gateway without extra variables. `LEGUAS_ENV_FILE` names
    another `.env`; set to an empty value it turns both files off (the test suite does, so a
    developer's `.env` never leaks into it).
    """
    from dotenv import load_dotenv

    chosen = os.environ.get("LEGUAS_ENV_FILE")
    if chosen == "":
        return []
    loaded = []
    dotenv = Path(chosen) if chosen else base_dir / ".env"
    if dotenv.is_file():
        load_dotenv(dotenv, override=False)
        loaded.append(dotenv)
    # Read after .env, which may have moved the var directory.
    local_run = var_dir(base_dir) / LOCAL_RUN_ENV
    if local_run.is_file():
        load_dotenv(local_run, override=False)
        loaded.append(local_run)
    return loaded
