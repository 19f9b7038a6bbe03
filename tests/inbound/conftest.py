from __future__ import annotations

from typing import Any

import pytest

from tests.messages.conftest import UNPACED, connect
from tests.rest.conftest import api_client, api_key  # noqa: F401 - the REST tests' key
from whatsapp.models import InboundMessage
from whatsapp.services import webhooks


@pytest.fixture
def instance(make_instance, sim, rung):
    instance = make_instance("main", **UNPACED)
    connect(sim, instance)
    return instance


def deliver(instance: Any, msg: dict[str, Any]) -> InboundMessage:
    """The webhook the gateway would post, stored and applied as the receiver and a worker do."""
    payload = {"event": "onmessage", "session": instance.session_name, **msg}
    event = webhooks.store(instance, payload)
    assert event is not None
    webhooks.apply(event.pk)
    return InboundMessage.objects.get(instance=instance, gateway_id=msg["id"])
