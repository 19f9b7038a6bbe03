"""`make run` in a browser: the gateway (the simulator) stops and starts on its own while the
dashboard, the workers and beat keep running, and the page explains the outage meanwhile."""

from __future__ import annotations

import os
import signal

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import WAIT_MS
from tests.live import wait_until
from tests.test_make_run import LocalRun, answers

pytestmark = [pytest.mark.browser, pytest.mark.live]

PASSWORD = "make-run-test-password"  # LocalRun's DJANGO_SUPERUSER_PASSWORD
SLOW = 60_000


@pytest.fixture
def local_run(tmp_path):
    run = LocalRun(tmp_path)
    run.start()
    try:
        assert wait_until(lambda: answers(f"{run.url}/accounts/login/"), 180, 0.5), run.log()
        yield run
    finally:
        run.stop()
        for pid in run.pids():
            os.kill(pid, signal.SIGKILL)


def test_the_gateway_can_stop_and_start_under_a_running_dashboard(browser, local_run):
    context = browser.new_context(base_url=local_run.url, locale="pt-BR")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    expect.set_options(timeout=WAIT_MS)
    try:
        page.goto("/accounts/login/")
        page.fill("#id_username", "admin")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("[data-qr-img]")).to_be_visible(timeout=SLOW)

        # The simulator stops (a gateway outage): everything else keeps serving.
        assert local_run.control("stop", "simulator").returncode == 0
        expect(page.locator("#outage")).to_be_visible(timeout=SLOW)
        # Named right once nothing listens any more (a request cut by the stop reads "dropped").
        expect(page.locator("#outage")).to_contain_text("a conexão foi recusada", timeout=SLOW)
        page.goto("/system/whatsapp/messages/")
        expect(page.locator("h1")).to_have_text("Mensagens")
        for name in ("worker-main", "worker-sessions", "beat", "web"):
            assert f"{name} exited" not in local_run.log()

        # Back: the session page finds the gateway again, and the QR comes back.
        assert local_run.control("start", "simulator").returncode == 0
        page.goto("/system/whatsapp/")
        expect(page.locator("#outage")).to_be_hidden(timeout=SLOW)
        expect(page.locator("[data-qr-img]")).to_be_visible(timeout=SLOW)

        # A crash of the simulator is restarted by `make run` itself.
        simulator = local_run.pid_running("whatsapp.simulator")
        os.kill(simulator, signal.SIGKILL)
        assert wait_until(
            lambda: local_run.pid_running("whatsapp.simulator") not in (None, simulator), 30
        )
        assert wait_until(lambda: answers(f"{local_run.sim_url}/healthz"), 30)
        assert answers(f"{local_run.url}/healthz")
    finally:
        context.close()
