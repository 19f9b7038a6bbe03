"""whatsapp.testing: what a host project's tests get."""

from __future__ import annotations

import pytest

from whatsapp.gateway import GatewayClient
from whatsapp.testing import simulator, whatsapp_gateway, whatsapp_simulator  # noqa: F401


def test_the_context_manager_starts_a_simulator_and_stops_it():
    with simulator("s3cret") as gateway:
        assert gateway.sessions() == []
    with pytest.raises(OSError):
        gateway.sessions()


@pytest.mark.django_db
def test_the_fixture_points_the_app_at_the_simulator(whatsapp_gateway):  # noqa: F811
    from whatsapp import api
    from whatsapp.conf import conf
    from whatsapp.services.gateway import client_for

    assert conf.GATEWAY_URL == whatsapp_gateway.url
    instance = api.instance()
    assert instance.gateway_url == whatsapp_gateway.url
    client = client_for(instance)
    assert isinstance(client, GatewayClient)
    assert client.status().status == "CLOSED"
