"""gunicorn with the production settings, serving the product and the bench's floor views."""

from __future__ import annotations

import secrets
import sys
from typing import Any

from bench.stack import Processes, base_env, empty_messages, wait_for_http

WORKERS, THREADS = 3, 8
# What a TLS-terminating proxy in front adds: the production settings redirect plain HTTP.
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}


def production_env(port: int, floor_instance: int, **extra: str) -> dict[str, str]:
    return base_env(
        DEBUG="false",
        DJANGO_SETTINGS_MODULE="bench.settings",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        CSRF_TRUSTED_ORIGINS=f"https://127.0.0.1:{port}",
        WPPCONNECT_SECRET_KEY=secrets.token_urlsafe(24),
        WHATSAPP_ENCRYPTION_KEY=secrets.token_urlsafe(32),
        WHATSAPP_PUBLIC_URL=f"https://127.0.0.1:{port}",
        SECURE_PROXY_SSL_HEADER="true",
        DATABASE_CONN_MAX_AGE="60",
        BENCH_FLOOR_INSTANCE=str(floor_instance),
        **extra,
    )


def start_gunicorn(
    procs: Processes, port: int, env: dict[str, str], workers: int = WORKERS, threads: int = THREADS
) -> str:
    """Start it on port and wait until it answers; its base URL."""
    procs.start(
        [sys.executable, "-m", "gunicorn", "leguas.wsgi:application", "--bind",
         f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads),
         "--worker-class", "gthread", "--timeout", "120"],
        env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/healthz")
    return url


def instance_and_key() -> tuple[Any, str]:
    """An empty bench database but for one instance, and a high-volume API key (its rate check
    still runs on every request, but never refuses one)."""
    from whatsapp.models import ApiKey, Instance

    empty_messages()
    Instance.objects.all().delete()
    ApiKey.objects.filter(name="bench-http").delete()
    instance = Instance(
        slug="bench",
        name="Bench",
        session_name="bench-http",
        gateway_url="http://127.0.0.1:9",
        is_default=True,
    )
    instance.secret_key = "bench-gateway-secret"
    instance.save()
    row, key = ApiKey.create("bench-http")
    ApiKey.objects.filter(pk=row.pk).update(rate_limit=1_000_000, rate_burst=1_000_000)
    return instance, key
