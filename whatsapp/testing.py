"""Test helpers for a host project: the bundled WPPConnect simulator, in-process.

    from whatsapp.testing import simulator

    with simulator() as gateway:          # a fake WPPConnect Server on a free local port
        gateway.url, gateway.secret_key
        gateway.scan("session")           # as if a phone scanned the QR code
        gateway.ledger()                  # every message "sent" to WhatsApp

With pytest (and pytest-django), `pytest_plugins = ["whatsapp.testing"]` in a conftest.py gives the
fixtures `whatsapp_simulator` (one simulator for the run) and `whatsapp_gateway` (the simulator
reset, `settings.WHATSAPP` pointed at it, and the default instance created from it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from whatsapp.simulator import DEFAULT_SECRET_KEY
from whatsapp.simulator.testing import SimulatorControlError, SimulatorHandle, start_simulator

__all__ = ["SimulatorControlError", "SimulatorHandle", "simulator"]


@contextmanager
def simulator(
    secret_key: str = DEFAULT_SECRET_KEY,
    *,
    auto_close: float = 60,
    qr_interval: float = 20,
    init_delay: float = 0.2,
) -> Iterator[SimulatorHandle]:
    """A simulator on 127.0.0.1 for the duration of the block (a QR appears after `init_delay` s,
    a new one every `qr_interval` s, and an unscanned session closes after `auto_close` s)."""
    handle = start_simulator(
        secret_key, auto_close=auto_close, qr_interval=qr_interval, init_delay=init_delay
    )
    try:
        yield handle
    finally:
        handle.stop()


try:
    import pytest
except ImportError:  # pytest is the host's choice; the context manager works without it
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture(scope="session")
    def whatsapp_simulator() -> Iterator[SimulatorHandle]:
        """One simulator for the whole test run."""
        with simulator("whatsapp-testing-secret") as handle:
            yield handle

    @pytest.fixture
    def whatsapp_gateway(
        whatsapp_simulator: SimulatorHandle, settings: Any, db: None
    ) -> Iterator[SimulatorHandle]:
        """The simulator, reset; the app configured for it; its default instance created."""
        from whatsapp.conf import conf
        from whatsapp.services.instances import bootstrap_default

        whatsapp_simulator.reset()
        settings.WHATSAPP = {
            **(getattr(settings, "WHATSAPP", None) or {}),
            "GATEWAY_URL": whatsapp_simulator.url,
            "GATEWAY_SECRET_KEY": whatsapp_simulator.secret_key,
        }
        bootstrap_default(whatsapp_simulator.url, whatsapp_simulator.secret_key, conf.SESSION_NAME)
        yield whatsapp_simulator
        whatsapp_simulator.reset()
