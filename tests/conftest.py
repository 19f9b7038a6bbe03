from __future__ import annotations

import os
import time

import pytest


@pytest.fixture(scope="session", autouse=True)
def _purge_test_broker() -> None:
    """Messages left by an earlier, interrupted run must not leak into this one."""
    from tests.live import purge_test_broker

    purge_test_broker()


@pytest.fixture(scope="session", autouse=True)
def _media_dir(tmp_path_factory):
    """Media files of the tests go to a folder of their own, shared with live workers (they
    inherit the environment), never the worktree's var/media."""
    from django.conf import settings
    from django.core.files.storage import storages

    path = tmp_path_factory.mktemp("whatsapp-media")
    os.environ["WHATSAPP_MEDIA_DIR"] = str(path)
    settings.STORAGES = {
        **settings.STORAGES,
        "whatsapp_media": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(path)},
        },
    }
    storages._backends = None
    storages._storages = {}
    return path


class Rung(list):
    """Doorbell rings recorded by the `rung` fixture, as (task name, args) pairs."""

    def args_of(self, task_name: str) -> list:
        return [args[0] if len(args) == 1 else args for name, args in self if name == task_name]


@pytest.fixture
def rung(monkeypatch) -> Rung:
    """Record rings instead of publishing them; at ring time, as if the commit had happened.

    The doorbell's own tests cover publishing after commit and its failure policy.
    """
    from whatsapp import doorbell

    recorded = Rung()

    def ring(task_name, *args, countdown=None):
        recorded.append((task_name, args))

    def publish(task_name, args, *, countdown=None, task_id=None, time_limits=None):
        recorded.append((task_name, tuple(args)))
        return True

    monkeypatch.setattr(doorbell, "ring", ring)
    monkeypatch.setattr(doorbell, "ring_pending", ring)
    monkeypatch.setattr(doorbell, "publish", publish)
    doorbell.reset()
    return recorded


@pytest.fixture(autouse=True)
def _doorbell_fresh():
    """A broken-broker (or broken-cache) cooldown from one test must not swallow the next test's
    rings (or rate limits)."""
    from whatsapp import doorbell, lookups, ratelimit

    doorbell.reset()
    ratelimit.reset()
    lookups.forget()  # rows a previous test read (its rollback or flush tells no receiver)


GATEWAY_SECRET = "product-test-secret"


@pytest.fixture(scope="session")
def gateway_sim():
    """One simulator for the product's tests; `sim` resets it around each test."""
    from whatsapp.simulator.testing import start_simulator

    handle = start_simulator(GATEWAY_SECRET, auto_close=60, qr_interval=20, init_delay=0.2)
    yield handle
    handle.stop()


@pytest.fixture
def sim(gateway_sim):
    gateway_sim.reset(seed=7)
    yield gateway_sim
    gateway_sim.reset()


@pytest.fixture
def make_instance(sim, db):
    """Instances pointing at the simulator, each with its own session name."""
    import uuid

    from whatsapp.models import Instance

    def make(slug: str = "main", *, default: bool = True, **fields) -> Instance:
        instance = Instance(
            slug=slug,
            name=fields.pop("name", slug.title()),
            session_name=fields.pop("session_name", f"{slug}-{uuid.uuid4().hex[:8]}"),
            gateway_url=fields.pop("gateway_url", sim.url),
            is_default=default,
            **fields,
        )
        instance.secret_key = GATEWAY_SECRET
        instance.save()
        return instance

    return make


@pytest.fixture
def operator(db, django_user_model):
    """A staff user with the permission to operate sessions."""
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user(
        "operador", password="pw-123-secret", is_staff=True
    )
    user.user_permissions.add(
        Permission.objects.get(codename="operate_instance"),
        Permission.objects.get(codename="view_instance"),
    )
    return user


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


LIVE_ENV = {
    # Short gateway timeouts so the fault tests end in seconds, not minutes.
    "WPPCONNECT_SESSION_TIMEOUT": "5",
    "WPPCONNECT_READ_TIMEOUT": "5",
    "WHATSAPP_START_TIMEOUT": "6",
    "WHATSAPP_START_BUDGET": "20",
    # Media URLs come from a file server on loopback; a slow one fails in seconds.
    "WHATSAPP_MEDIA_FETCH_ALLOW_PRIVATE": "true",
    "WHATSAPP_MEDIA_FETCH_TIMEOUT": "3",
}


@pytest.fixture(scope="module")
def live_stack(django_db_setup, live_server):
    """Real workers (sessions; messages+default) on the real broker and the test database.

    For one module at a time: workers that outlived their module would act on the next module's
    rows (a dispatcher wake-up they still hold, a sweep), and what they left in the broker is
    purged with them.
    """
    from tests.live import WorkerProcess, process_env, purge_test_broker

    env = process_env(WHATSAPP_PUBLIC_URL=live_server.url, **LIVE_ENV)
    workers = [
        WorkerProcess("sessions", concurrency=2, env=env, name="sessions-test@%h").start(),
        WorkerProcess(
            "messages,default,housekeeping,webhooks", concurrency=3, env=env, name="main-test@%h"
        ).start(),
    ]
    yield {"env": env, "workers": workers, "url": live_server.url}
    for worker in workers:
        worker.stop()
    purge_test_broker()


class WhatsAppConf:
    """`whatsapp_conf.PUBLIC_URL = ...` overrides one key of settings.WHATSAPP for a test."""

    def __init__(self, settings) -> None:
        object.__setattr__(self, "_settings", settings)

    def __setattr__(self, name: str, value) -> None:
        from whatsapp.conf import DEFAULTS

        assert name in DEFAULTS, f"WHATSAPP has no key {name!r}"
        current = dict(getattr(self._settings, "WHATSAPP", {}) or {})
        current[name] = value
        self._settings.WHATSAPP = current

    def __getattr__(self, name: str):
        from whatsapp.conf import conf

        return getattr(conf, name)


@pytest.fixture
def whatsapp_conf(settings) -> WhatsAppConf:
    return WhatsAppConf(settings)


# The environment variables of LIVE_ENV, as keys of settings.WHATSAPP.
LIVE_CONF = {
    "SESSION_TIMEOUT": 5.0,
    "READ_TIMEOUT": 5.0,
    "START_TIMEOUT": 6,
    "START_BUDGET": 20,
}


@pytest.fixture
def live(live_stack, whatsapp_conf):
    """The in-process web side agrees with the workers on where webhooks go."""
    whatsapp_conf.PUBLIC_URL = live_stack["url"]
    for name, value in LIVE_CONF.items():
        setattr(whatsapp_conf, name, value)
    return live_stack


@pytest.fixture
def quiet_live_workers(live):
    """The database is truncated after each test; workers still busy there can deadlock it.
    Live modules use it with `pytest.mark.usefixtures("quiet_live_workers")`."""
    yield
    import redis
    from django.conf import settings

    from tests.live import wait_until
    from whatsapp.models import OutboundMessage

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    wait_until(
        lambda: (
            broker.llen("messages") == 0
            and broker.llen("default") == 0
            and not OutboundMessage.objects.filter(status__in=["dispatched", "sending"]).exists()
        ),
        timeout=20,
    )
    time.sleep(0.3)  # the worker's own commit after its last state change


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Locks and markers in the shared cache must not leak from one test into the next."""
    from django.core.cache import cache

    if os.environ.get("LEGUAS_TEST_FLUSH_BROKER") == "1":
        cache.clear()


@pytest.fixture(scope="session", autouse=True)
def _flush_survives_a_busy_worker():
    """Transactional tests end with TRUNCATE; a live worker finishing a task can deadlock it.

    PostgreSQL then aborts one side. When that is the flush, try again once the worker's
    transaction is gone, instead of leaving rows behind for the next test.
    """
    import time

    from django.core.management.base import CommandError
    from django.core.management.commands import flush
    from django.db import OperationalError

    original = flush.Command.handle

    def handle(self, **options):
        for attempt in range(5):
            try:
                return original(self, **options)
            except CommandError as exc:
                if not isinstance(exc.__cause__, OperationalError) or attempt == 4:
                    raise
                time.sleep(0.5)
        return None

    flush.Command.handle = handle
    yield
    flush.Command.handle = original
