"""Alert emails on the real stack: the phone unlinks, the gateway's webhook is applied by a
worker, the state writer raises the alert and a housekeeping worker mails it (Django's console
backend, read from the worker's output). A second disconnect within the hour mails nothing."""

from __future__ import annotations

import pytest

from tests.conftest import LIVE_ENV
from tests.live import WorkerProcess, process_env, purge_test_broker, wait_until
from tests.messages.conftest import UNPACED, connect
from whatsapp.models import Alert, Instance
from whatsapp.models.alert import AlertKind
from whatsapp.models.media import WorkState

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def live_stack(django_db_setup, live_server):
    """The suite's workers, told to alert someone, with a mail backend that prints."""
    env = process_env(
        WHATSAPP_PUBLIC_URL=live_server.url,
        WHATSAPP_ALERT_EMAILS="ops@example.com",
        EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend",
        **LIVE_ENV,
    )
    workers = [
        WorkerProcess("sessions", concurrency=2, env=env, name="sessions-alerts@%h").start(),
        WorkerProcess(
            "messages,default,housekeeping", concurrency=3, env=env, name="main-alerts@%h"
        ).start(),
    ]
    yield {"env": env, "workers": workers, "url": live_server.url}
    for worker in workers:
        worker.stop()
    purge_test_broker()


def unlinked(sim, instance: Instance) -> None:
    sim.unlink(instance.session_name)
    assert wait_until(
        lambda: not Instance.objects.get(pk=instance.pk).connected, timeout=20, interval=0.2
    )


def test_a_disconnect_mails_once_and_a_second_within_the_hour_not(live, sim, make_instance):
    instance = make_instance("loja", name="Loja Centro", auto_reconnect=False, **UNPACED)
    connect(sim, instance, live["url"])
    unlinked(sim, instance)
    done = Alert.objects.filter(state=WorkState.DONE)
    assert wait_until(lambda: done.count() == 1, timeout=30, interval=0.2), list(
        Alert.objects.values("kind", "state", "error")
    )
    mail = live["workers"][1].output()
    assert f"{live['url']}/system/whatsapp/instances/loja/" in mail
    assert "To: ops@example.com" in mail and "Loja Centro" in mail

    connect(sim, instance, live["url"])
    unlinked(sim, instance)
    # The alert would be written in the transaction that marked the row disconnected, which
    # `unlinked` waited for: no second row now means no second email ever.
    assert list(Alert.objects.values_list("kind", flat=True)) == [AlertKind.DISCONNECTED]
    assert live["workers"][1].output().count("To: ops@example.com") == 1
