"""Two web processes (gunicorn) and two worker processes on their own broker database: the rate
limit of a key holds across both webs, and /metrics adds up both workers' counters after a known
sequence of sends. One setup for both, to keep the suite lean."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from django.conf import settings

from tests.live import BASE_DIR, WorkerProcess, process_env, wait_until
from tests.messages.conftest import UNPACED, connect, phone
from tests.redis_process import free_port
from whatsapp.models import ApiKey, MessageAttempt, OutboundMessage

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]
TOKEN = "metrics-" + uuid.uuid4().hex
SENDS = 10


class WebProcess:
    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.log = BASE_DIR / "var" / "test-logs" / f"web-{uuid.uuid4().hex[:8]}.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "leguas.wsgi:application",
                "--bind", f"127.0.0.1:{self.port}", "--workers", "1", "--timeout", "60",
                "--logger-class", "leguas.gunicorn.RedactingLogger",
            ],
            cwd=BASE_DIR, env=env, stdout=self.log.open("wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> bool:
        try:
            return requests.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture
def stack(tmp_path: Path, sim: Any, make_instance: Any) -> Iterator[dict[str, Any]]:
    base, _sep, _db = settings.CELERY_BROKER_URL.rpartition("/")
    broker = f"{base}/13"  # not the other live workers' queues: every send here is counted here
    redis.Redis.from_url(broker).flushdb()
    env = process_env(
        CELERY_BROKER_URL=broker,
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path),
        WHATSAPP_METRICS_TOKEN=TOKEN,
        WPPCONNECT_READ_TIMEOUT="5",
    )
    webs = [WebProcess(env), WebProcess(env)]
    env["WHATSAPP_PUBLIC_URL"] = webs[0].url
    workers = [
        WorkerProcess(
            "messages,default", concurrency=1, env=env, name=f"w{n}-{uuid.uuid4().hex}@%h"
        )
        for n in (1, 2)
    ]
    for worker in workers:
        worker.start()
    try:
        assert wait_until(lambda: all(web.up() for web in webs), 60, 0.2), "webs did not start"
        assert wait_until(lambda: all("ready." in w.output() for w in workers), 60, 0.2)
        instance = make_instance(f"m{uuid.uuid4().hex[:6]}", **UNPACED)
        connect(sim, instance, base_url=webs[0].url)
        yield {"webs": webs, "workers": workers, "instance": instance}
    finally:
        processes: list[WebProcess | WorkerProcess] = [*webs, *workers]
        for process in processes:
            process.stop()


def test_rate_limit_across_web_processes_and_metrics_across_worker_processes(stack, sim):
    webs, instance = stack["webs"], stack["instance"]

    # A key allowed 1 request per second and 5 more at once: one budget, whichever web answers.
    limited, key = ApiKey.create("limited", scopes=["read"])
    ApiKey.objects.filter(pk=limited.pk).update(rate_limit=1, rate_burst=5)
    started = time.monotonic()
    answers = [
        requests.get(
            f"{webs[n % 2].url}/api/v1/messages",
            headers={"Authorization": f"Bearer {key}"},
            timeout=20,
        )
        for n in range(12)
    ]
    elapsed = time.monotonic() - started
    ok = [a for a in answers if a.status_code == 200]
    refused = [a for a in answers if a.status_code == 429]
    assert len(ok) + len(refused) == 12
    # Each web alone would have let 6 through: together they let 6, plus one per second passed.
    assert 6 <= len(ok) <= 6 + int(elapsed) + 1, (len(ok), elapsed)
    assert refused and all(int(a.headers["Retry-After"]) >= 1 for a in refused)
    assert {a.url.split("/api")[0] for a in refused} == {web.url for web in webs}

    # A known sequence of sends through both webs, sent by both workers.
    sim.set_fault("send-message", latency=0.3)  # long enough for both workers to take some
    sim.set_acks(delivered_after=0.2, read_after=None)
    sender, send_key = ApiKey.create("sender", scopes=["send"])
    ApiKey.objects.filter(pk=sender.pk).update(rate_limit=0)
    for n in range(SENDS):
        created = requests.post(
            f"{webs[n % 2].url}/api/v1/messages",
            json={"to": phone(700 + n), "text": f"metrics {n}", "instance": instance.slug},
            headers={"Authorization": f"Bearer {send_key}"},
            timeout=20,
        )
        assert created.status_code == 201, created.text
    rows = OutboundMessage.objects.filter(instance=instance)
    assert wait_until(lambda: rows.filter(status="delivered").count() == SENDS, 90, 0.3), list(
        rows.values_list("status", flat=True)
    )
    workers = set(MessageAttempt.objects.filter(instance=instance).values_list("worker", flat=True))
    assert len(workers) == 2, workers

    def scrape() -> str:
        answer = requests.get(
            f"{webs[1].url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=20
        )
        assert answer.status_code == 200
        return answer.text

    def value(text: str, name: str, **labels: str) -> float:
        from prometheus_client.parser import text_string_to_metric_families

        return sum(
            found.value
            for family in text_string_to_metric_families(text)
            for found in family.samples
            if found.name == name and all(found.labels.get(k) == v for k, v in labels.items())
        )

    slug = instance.slug
    assert wait_until(
        lambda: value(scrape(), "whatsapp_acks_total", instance=slug, status="delivered") == SENDS,
        30,
        0.5,
    )
    text = scrape()
    assert value(text, "whatsapp_send_attempts_total", instance=slug, outcome="sent") == SENDS
    sends = value(text, "whatsapp_gateway_request_seconds_count", route="send-message")
    assert sends == SENDS
    assert value(text, "whatsapp_ack_delay_seconds_count", status="delivered") == SENDS
    assert value(text, "whatsapp_task_seconds_count", queue="messages", state="success") >= SENDS
    assert value(text, "whatsapp_messages", instance=slug, status="queued") == 0
    assert value(text, "whatsapp_session_connected", instance=slug) == 1
