"""Issue acceptance on the real stack: web, Celery workers, Redis, PostgreSQL and the simulator."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.live import BASE_DIR, wait_until
from whatsapp.models import HealthSample, Instance, SessionOperation

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


def poll_operation(client, url, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        operation = client.get(url).json()["operation"]
        if operation["status"] in ("succeeded", "failed"):
            return operation
        time.sleep(0.1)
    raise AssertionError(f"operation still {operation['status']} after {timeout}s")


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_start_answers_at_once_ends_with_a_qr_and_a_scan_connects_within_2s(
    live, sim, make_instance, operator_client
):
    instance = make_instance()
    response, elapsed = timed(lambda: operator_client.post("/system/whatsapp/start/"))
    # Seconds, not the gateway's 90: the web never waits on it (latency has its benchmark).
    assert response.status_code == 202 and elapsed < 3.0
    operation = poll_operation(operator_client, response.json()["status_url"])
    assert operation["status"] == "succeeded", operation
    assert operation["result"]["qrcode"].startswith("data:image/png;base64,")

    sim.scan(instance.session_name)
    scanned = time.monotonic()
    assert wait_until(
        lambda: operator_client.get("/system/whatsapp/status/").json()["session"]["connected"],
        timeout=2.0,
        interval=0.05,
    ), "status/ did not report connected within 2 s of the scan's webhooks"
    assert time.monotonic() - scanned <= 2.0


def test_without_webhooks_the_recorder_notices_the_connection_within_one_period(
    live, sim, make_instance, operator_client
):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    period = 2
    entry = PeriodicTask.objects.get(task="whatsapp.health.record_all")
    entry.interval, _ = IntervalSchedule.objects.get_or_create(every=period, period="seconds")
    entry.expire_seconds = period
    entry.save()
    sim.set_webhooks(False)
    instance = make_instance()
    response = operator_client.post("/system/whatsapp/start/")
    operation = poll_operation(operator_client, response.json()["status_url"])
    assert operation["status"] == "succeeded", operation
    beat = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "worker",
            "beat",
            "--loglevel",
            "INFO",
            "-S",
            "whatsapp.beat_scheduler:DatabaseScheduler",
        ],
        cwd=BASE_DIR,
        env=live["env"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Let beat start ticking before the scan, so the wait below is one period, not a boot.
        assert wait_until(lambda: HealthSample.objects.filter(instance=instance).exists(), 30)
        sim.scan(instance.session_name)
        scanned = time.monotonic()
        assert wait_until(lambda: Instance.objects.get(pk=instance.pk).connected, period + 3)
        assert time.monotonic() - scanned <= period + 3
    finally:
        beat.terminate()
        beat.wait(15)


def test_a_start_hanging_90s_never_holds_the_web_and_fails_with_a_timeout(
    live, sim, make_instance, operator_client
):
    make_instance()
    sim.set_fault("start-session", hang=90)
    response, elapsed = timed(lambda: operator_client.post("/system/whatsapp/start/"))
    # Seconds, not the gateway's 90: the web never waits on it (latency has its benchmark).
    assert response.status_code == 202 and elapsed < 3.0
    url = response.json()["status_url"]
    for _ in range(10):
        status, took = timed(lambda: operator_client.get("/system/whatsapp/status/"))
        assert status.status_code == 200 and took < 3.0
        time.sleep(0.2)
    operation = poll_operation(operator_client, url, timeout=40)
    assert operation["status"] == "failed"
    assert operation["code"] == "gateway_timeout"
    english = operator_client.get(url, HTTP_ACCEPT_LANGUAGE="en").json()["operation"]
    assert "did not answer in time" in english["error"]
    portuguese = operator_client.get(url, HTTP_ACCEPT_LANGUAGE="pt-BR").json()["operation"]
    assert "não respondeu a tempo" in portuguese["error"]


def test_two_starts_while_one_runs_make_one_operation_and_one_gateway_call(
    live, sim, make_instance, operator_client
):
    instance = make_instance()
    sim.set_fault("start-session", latency=1.5)
    first = operator_client.post("/system/whatsapp/start/").json()
    second = operator_client.post("/system/whatsapp/start/").json()
    assert first["operation"]["id"] == second["operation"]["id"]
    poll_operation(operator_client, first["status_url"])
    assert SessionOperation.objects.filter(instance=instance, kind="start").count() == 1
    assert sim.calls(instance.session_name)["start-session"] == 1


def test_close_and_logout_through_the_endpoints(live, sim, make_instance, operator_client):
    instance = make_instance()
    never = poll_operation(
        operator_client, operator_client.post("/system/whatsapp/close/").json()["status_url"]
    )
    assert never["status"] == "failed" and never["code"] == "not_started"
    start = operator_client.post("/system/whatsapp/start/").json()
    poll_operation(operator_client, start["status_url"])
    waiting = poll_operation(
        operator_client, operator_client.post("/system/whatsapp/close/").json()["status_url"]
    )
    assert waiting["code"] == "close_while_starting"
    assert sim.session(instance.session_name)["leaked"] is False
    sim.scan(instance.session_name)
    assert wait_until(lambda: Instance.objects.get(pk=instance.pk).connected, 5)
    logout = poll_operation(
        operator_client, operator_client.post("/system/whatsapp/logout/").json()["status_url"]
    )
    assert logout["status"] == "succeeded", logout
    assert (
        sim.session(instance.session_name) is None
        or sim.session(instance.session_name)["status"] == "CLOSED"
    )


def test_an_unlinked_phone_is_recorded_and_reconnects_stay_within_the_cap(
    live, sim, make_instance, operator_client
):
    from whatsapp.services import health
    from whatsapp.tasks.health import record_instance

    instance = make_instance()
    poll_operation(
        operator_client, operator_client.post("/system/whatsapp/start/").json()["status_url"]
    )
    sim.scan(instance.session_name)
    assert wait_until(lambda: Instance.objects.get(pk=instance.pk).connected, 5)
    # Each call stands for one beat period; a period of 1 s lets calls 1 s apart each sample.
    record_instance.delay(instance.pk, 1)
    assert wait_until(
        lambda: HealthSample.objects.filter(instance=instance, connected=True).exists(), 10
    )

    sim.unlink(instance.session_name)
    unlinked = time.monotonic()
    time.sleep(1)
    record_instance.delay(instance.pk, 1)  # what beat does every period
    assert wait_until(
        lambda: HealthSample.objects.filter(instance=instance, transition="disconnected").exists(),
        60,
    )
    assert time.monotonic() - unlinked < 60
    # The reconnect it started finds the login gone (a QR): it stops and asks for a scan.
    assert wait_until(
        lambda: SessionOperation.objects.filter(
            instance=instance, kind="start", requested_by=None
        ).exists(),
        10,
    )
    for _ in range(3):
        time.sleep(1)
        record_instance.delay(instance.pk, 1)
    assert wait_until(lambda: Instance.objects.get(pk=instance.pk).needs_scan, 15)
    refreshed = Instance.objects.get(pk=instance.pk)
    assert refreshed.reconnect_attempts <= health.RECONNECT_CAP_PER_HOUR
    automatic = SessionOperation.objects.filter(instance=instance, kind="start", requested_by=None)
    assert automatic.count() <= health.RECONNECT_CAP_PER_HOUR
