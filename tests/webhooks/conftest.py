from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.webhooks.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def loopback_allowed(whatsapp_conf):
    """Deliveries may go to the receiver on 127.0.0.1, with tiny retry delays."""
    whatsapp_conf.WEBHOOK_ALLOW_PRIVATE = True
    whatsapp_conf.WEBHOOK_RETRY_DELAYS = [0.05, 0.05, 0.05]
    return whatsapp_conf


# The message fixtures (a connected instance on the simulator, workers) are shared.
from tests.messages.conftest import connected_instance, msg_workers  # noqa: E402, F401
