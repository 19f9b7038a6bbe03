"""The guard that keeps a worker alive through kombu's detached-channel defect."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from kombu.transport import redis as transport
from redis.exceptions import ConnectionError as RedisConnectionError

import worker  # noqa: F401 - installs the guard, as every worker does


def channel(connection: object) -> transport.Channel:
    fake = transport.Channel.__new__(transport.Channel)
    fake.connection = connection
    return fake


@pytest.mark.parametrize(
    "connection", [None, SimpleNamespace(client=None)], ids=["no transport", "detached transport"]
)
def test_a_detached_channel_raises_the_connection_error_celery_handles(connection):
    with pytest.raises(RedisConnectionError):
        transport.Channel._connparams(channel(connection))


def test_the_guard_is_installed_by_the_celery_app():
    assert getattr(transport.Channel._connparams, "whatsapp_guarded", False)
