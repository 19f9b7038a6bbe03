"""Production configuration: a clean `check --deploy`; clear failures for missing secrets."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def production_env(**overrides: str) -> dict[str, str]:
    # Test-only switches of the parent (e.g. the browser tests' async flag) stay out of it.
    dropped = {"DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="whatsapp.example.com",
        CSRF_TRUSTED_ORIGINS="https://whatsapp.example.com",
        WPPCONNECT_SECRET_KEY=secrets.token_urlsafe(24),
        WHATSAPP_ENCRYPTION_KEY=secrets.token_urlsafe(32),
        WHATSAPP_PUBLIC_URL="https://whatsapp.example.com",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
    )
    env.update(overrides)
    return env


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_under_production_variables():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_a_production_start_without_secret_key_fails_with_a_clear_message():
    env = production_env()
    del env["SECRET_KEY"]
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_the_public_default_gateway_secret_is_refused_in_production():
    env = production_env(WPPCONNECT_SECRET_KEY="THISISMYSECURETOKEN")
    result = manage("check", "--deploy", env=env)
    assert result.returncode != 0
    assert "whatsapp.E001" in result.stderr + result.stdout
    assert "THISISMYSECURETOKEN" not in result.stderr + result.stdout


def test_a_missing_encryption_key_is_a_system_check_error():
    env = production_env(WHATSAPP_ENCRYPTION_KEY="")
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "whatsapp.E002" in result.stderr + result.stdout
