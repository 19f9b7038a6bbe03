from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.urls import reverse

from tests.live import WorkerProcess, process_env, purge_test_broker


def phone(n: int) -> str:
    """A valid Brazilian mobile number the simulator knows."""
    return f"5521987{n:06d}"


def connect(sim: Any, instance: Any, base_url: str = "http://127.0.0.1:9") -> None:
    """Start the session on the simulator, scan it, and record it as connected."""
    from whatsapp.models import Instance
    from whatsapp.services.gateway import client_for

    path = reverse("whatsapp-webhook", args=[instance.slug, instance.webhook_secret])
    client_for(instance).start_session(webhook=f"{base_url}{path}")
    sim.wait_for_status(instance.session_name, "QRCODE")
    sim.scan(instance.session_name)
    sim.wait_for_status(instance.session_name, "CONNECTED")
    if not base_url.endswith(":9"):
        # The session's webhooks (status-find, qrcode) are applied by workers in any order; one
        # applied after the line below would mark the row disconnected again.
        from tests.live import wait_until
        from whatsapp.models import GatewayEvent

        sim.wait_webhooks_posted(instance.session_name)
        wait_until(
            lambda: (
                not GatewayEvent.objects.filter(
                    instance=instance, processed_at__isnull=True
                ).exists()
            ),
            timeout=10,
        )
    Instance.objects.filter(pk=instance.pk).update(connected=True, status="CONNECTED")
    instance.connected = True


def refuse_briefly(sim: Any, seconds: float = 0.5) -> None:
    """Refuse connections for a moment; the caller acts inside the window, then `wait_back`."""
    sim.refuse(seconds)


def wait_back(sim: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            sim.sessions()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


UNPACED = {
    "min_gap_seconds": 0,
    "max_gap_seconds": 0,
    "cap_per_minute": 0,
    "cap_per_hour": 0,
    "cap_per_day": 0,
}


@pytest.fixture
def unpaced_instance(make_instance: Callable[..., Any]) -> Any:
    return make_instance("main", **UNPACED)


@pytest.fixture
def connected_instance(make_instance: Callable[..., Any], sim: Any, rung: Any) -> Any:
    """An unpaced instance connected on the simulator; doorbell rings recorded, not published."""
    instance = make_instance("main", **UNPACED)
    connect(sim, instance)
    return instance


class MessageWorkers:
    """A `default` worker and a `messages` worker, separately, so one can be killed."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.default = WorkerProcess(
            "default,housekeeping", concurrency=3, env=env, name="msg-default@%h"
        )
        self.messages = self._messages_worker()

    def _messages_worker(self) -> WorkerProcess:
        return WorkerProcess("messages", concurrency=4, env=self.env, name="msg-send@%h")

    def start(self) -> MessageWorkers:
        self.default.start()
        self.messages.start()
        return self

    def restart_messages(self) -> None:
        self.messages.kill9()
        self.messages = self._messages_worker().start()

    def output(self) -> str:
        return self.default.output()[-3000:] + self.messages.output()[-3000:]

    def stop(self) -> None:
        self.default.stop()
        self.messages.stop()


@pytest.fixture(scope="module")
def msg_workers(django_db_setup: None, live_server: Any) -> Iterator[MessageWorkers]:
    """For one module at a time, like `live_stack`, and for the same reasons."""
    env = process_env(
        WHATSAPP_PUBLIC_URL=live_server.url,
        WPPCONNECT_READ_TIMEOUT="5",
        WPPCONNECT_SESSION_TIMEOUT="5",
    )
    workers = MessageWorkers(env).start()
    yield workers
    workers.stop()
    purge_test_broker()
