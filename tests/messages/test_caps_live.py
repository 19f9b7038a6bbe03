"""Caps hold as the gateway sees them: never 13 sends in any 60 s of the simulator's ledger with
a cap of 12 per minute, though the gateway is slow to take the first ones (as under load)."""

from __future__ import annotations

import pytest
from django.db import transaction

from tests.live import wait_until
from tests.messages.conftest import UNPACED, connect, phone
from tests.messages.test_live import _quiet_workers_before_flush  # noqa: F401
from whatsapp import api
from whatsapp.models import Instance

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

CAP = 12


def test_a_cap_of_12_per_minute_never_shows_13_in_any_60_s_at_the_gateway(
    msg_workers, sim, make_instance
):
    instance = make_instance("main", **{**UNPACED, "cap_per_minute": CAP})
    connect(sim, instance, msg_workers.env["WHATSAPP_PUBLIC_URL"])
    assert Instance.objects.get(pk=instance.pk).cap_per_minute == CAP
    # The first sends reach the gateway 3 s after they were claimed; the later ones at once.
    # Counting a minute from the claims let the 13th in 57 s after the 1st, at the gateway.
    sim.set_fault("send-message", latency=3.0)
    with transaction.atomic():
        for n in range(CAP + 4):
            api.send_text(phone(500 + n), f"capped {n}")
    assert wait_until(lambda: len(sim.ledger(message="capped")) >= CAP, 40)
    sim.clear_faults()
    assert wait_until(lambda: len(sim.ledger(message="capped")) >= CAP + 1, 120, interval=0.5)
    times = sorted(entry["t"] for entry in sim.ledger(message="capped"))
    windows = [later - first for first, later in zip(times, times[CAP:], strict=False)]
    assert windows and min(windows) >= 60.0, windows
