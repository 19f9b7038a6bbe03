"""The whole product on this machine for the fault suite: its own PostgreSQL and Redis, the
simulator (in this process), gunicorn, the workers and beat; and what scenarios do with it."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from faults.processes import Processes
from faults.services import Postgres, Redis

PG_PORT = int(os.environ.get("FAULTS_PG_PORT", "5440"))
REDIS_PORT = int(os.environ.get("FAULTS_REDIS_PORT", "6395"))
SECRET = "faults-gateway-secret"
DONE = ("sent", "delivered", "read")
FINAL = (*DONE, "failed", "cancelled", "expired")
# Production values except where a scenario would otherwise wait minutes on a timer.
SETTINGS = {
    "WPPCONNECT_READ_TIMEOUT": "10",
    "WHATSAPP_UNKNOWN_GRACE": "30",
    "WHATSAPP_HEALTH_INTERVAL": "15",
}
UNPACED = {
    "min_gap_seconds": 0,
    "max_gap_seconds": 0,
    "cap_per_minute": 0,
    "cap_per_hour": 0,
    "cap_per_day": 0,
}


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except Exception:  # the database or Redis may be down mid-scenario: look again
            from django.db import connection

            connection.close()
        time.sleep(interval)
    return False


def phone(n: int) -> str:
    return f"5521987{n:06d}"


class Stack:
    def __init__(self) -> None:
        self.pg = Postgres(PG_PORT)
        self.redis = Redis(REDIS_PORT)
        self.sim: Any = None
        self.env: dict[str, str] = {}
        self.procs: Processes | None = None
        self.api_key = ""
        self.exits_before = 0  # processes that had exited before this scenario (`fresh`)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Stack:
        self.pg.init()
        self.redis.start()
        self.env = {
            **os.environ,
            "DEBUG": "true",
            "LEGUAS_ENV_FILE": "",
            "DJANGO_SETTINGS_MODULE": "leguas.settings",
            "DATABASE_URL": self.pg.url,
            "DATABASE_CONN_MAX_AGE": "0",
            "CELERY_BROKER_URL": self.redis.url(0),
            "CACHE_URL": self.redis.url(1),
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            **SETTINGS,
        }
        os.environ.update(self.env)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        from whatsapp.simulator.testing import start_simulator

        self.sim = start_simulator(SECRET, auto_close=3600, init_delay=0.2)
        self.procs = Processes(self.env)
        self.env["WHATSAPP_PUBLIC_URL"] = self.procs.url
        self.procs.start()
        from whatsapp.models import ApiKey

        _row, self.api_key = ApiKey.create("faults")
        return self

    def stop(self) -> None:
        if self.procs:
            self.procs.stop()
        if self.sim:
            self.sim.stop()
        self.redis.stop()
        self.pg.destroy()

    @property
    def p(self) -> Processes:
        assert self.procs is not None
        return self.procs

    # -- per scenario ------------------------------------------------------------------------
    def fresh(self) -> None:
        """A clean slate between scenarios: no rows, no faults, no ledger."""
        from django.db import connection

        self.exits_before = len(self.p.exits)
        self.sim.clear_faults()
        self.sim.reset()
        self.sim.set_acks(None, None)
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE whatsapp_outboundmessage, whatsapp_gatewayevent, "
                "whatsapp_healthsample CASCADE"
            )
        from whatsapp.models import Instance

        Instance.objects.all().delete()
        import redis

        broker = redis.Redis.from_url(self.redis.url(0))
        for queue in ("messages", "default", "housekeeping", "sessions"):
            broker.delete(queue)  # leftovers of the last scenario (their rows are gone)

    def instance(self, slug: str, default: bool = True, **fields: Any) -> Any:
        """An instance on the simulator, started with its webhook pointing at the web app."""
        from django.urls import reverse

        from whatsapp.models import GatewayEvent, Instance
        from whatsapp.services.gateway import client_for

        values = {**UNPACED, **fields}
        instance = Instance(
            slug=slug,
            name=slug.title(),
            session_name=f"{slug}-{uuid.uuid4().hex[:8]}",
            gateway_url=self.sim.url,
            is_default=default,
            **values,
        )
        instance.secret_key = SECRET
        instance.save()
        path = reverse("whatsapp-webhook", args=[instance.slug, instance.webhook_secret])
        client_for(instance).start_session(webhook=f"{self.p.url}{path}")
        self.sim.wait_for_status(instance.session_name, "QRCODE", timeout=30)
        self.sim.scan(instance.session_name)
        self.sim.wait_for_status(instance.session_name, "CONNECTED", timeout=30)
        self.sim.wait_webhooks_posted(instance.session_name, timeout=60)
        wait_until(
            lambda: (
                not GatewayEvent.objects.filter(
                    instance=instance, state__in=["pending", "failed"]
                ).exists()
            ),
            60,
        )
        Instance.objects.filter(pk=instance.pk).update(connected=True, status="CONNECTED")
        return instance

    # -- enqueue -----------------------------------------------------------------------------
    def backlog(
        self, tag: str, count: int, instance: str | None = None, first: int = 0, **kw: Any
    ) -> list[str]:
        """`count` messages through the Python API, 500 per transaction: one ring per commit.
        Numbered from `first`: each body is unique, so the ledger shows any second send."""
        from django.db import transaction

        from whatsapp import api

        ids: list[str] = []
        for start in range(first, first + count, 500):
            with transaction.atomic():
                for n in range(start, min(first + count, start + 500)):
                    message = api.send_text(phone(n), f"{tag} {n}", instance=instance, **kw)
                    ids.append(str(message.pk))
        return ids

    def post(self, session: Any, tag: str, n: int, instance: str | None = None) -> Any:
        """One REST enqueue; the response (or the exception) is the caller's to judge."""
        body: dict[str, Any] = {"to": phone(n), "text": f"{tag} {n}"}
        if instance:
            body["instance"] = instance
        return session.post(
            f"{self.p.url}/api/v1/messages",
            json=body,
            headers={"Authorization": f"Bearer {self.api_key}"},
            timeout=30,
        )

    # -- measure -----------------------------------------------------------------------------
    def statuses(self, ids: Iterable[str]) -> dict[str, str]:
        from whatsapp.models import OutboundMessage

        ids = list(ids)
        found: dict[str, str] = {}
        for start in range(0, len(ids), 2000):
            rows = OutboundMessage.objects.filter(pk__in=ids[start : start + 2000])
            found.update((str(pk), s) for pk, s in rows.values_list("pk", "status"))
        return found

    def not_done(self, ids: list[str]) -> int:
        statuses = self.statuses(ids)
        return sum(1 for i in ids if statuses.get(i) not in DONE)

    def not_final(self, ids: list[str]) -> int:
        statuses = self.statuses(ids)
        return sum(1 for i in ids if statuses.get(i) not in FINAL)

    def drain(self, ids: list[str], timeout: float) -> float | None:
        """Seconds until every id is final (or None at the timeout); beat's sweeps do the rest."""
        started = time.monotonic()

        def drained() -> bool:
            # A process that exits is started again at once, as `make run`'s supervisor does.
            self.p.revive()
            return self.not_final(ids) == 0

        if wait_until(drained, timeout, interval=1.0):
            return time.monotonic() - started
        return None

    def story(self, ids: list[str], limit: int = 3) -> list[str]:
        """What happened to a few messages that were not sent: status, error, each attempt."""
        from whatsapp.models import MessageAttempt, OutboundMessage

        statuses = self.statuses(ids)
        unsent = [i for i in ids if statuses.get(i) not in DONE][:limit]
        lines = []
        for message in OutboundMessage.objects.filter(pk__in=unsent):
            tries = MessageAttempt.objects.filter(message=message).order_by("number")
            shown = ", ".join(f"{t.number}: {t.outcome} {t.error[:80]!r}" for t in tries)
            lines.append(
                f"{message.body!r} {message.status}, {message.attempts} attempts, last error "
                f"{message.last_error[:120]!r}; attempts: {shown or 'none'}"
            )
        return lines

    def last_story(self, ids: list[str]) -> str:
        """The attempts of the message sent last: what the recovery waited for."""
        from whatsapp.models import MessageAttempt

        last = (
            MessageAttempt.objects.filter(message__pk__in=ids[-5000:], outcome="sent")
            .order_by("-finished_at")
            .select_related("message")
            .first()
        )
        if last is None:
            return "no attempt"
        tries = MessageAttempt.objects.filter(message=last.message).order_by("number")
        shown = ", ".join(f"{t.number}: {t.outcome} at {t.started_at:%H:%M:%S}" for t in tries)
        return (
            f"{last.message.body!r} queued {last.message.created_at:%H:%M:%S}, "
            f"attempts {shown}, sent {last.finished_at:%H:%M:%S} UTC"
        )

    def duplicates(self, tag: str) -> int:
        bodies: dict[str, int] = {}
        for entry in self.sim.ledger(message=f"{tag} "):
            bodies[entry["body"]] = bodies.get(entry["body"], 0) + 1
        return sum(n - 1 for n in bodies.values())

    def left(self) -> dict[str, int]:
        from django.db.models import Count

        from whatsapp.models import OutboundMessage

        rows = (
            OutboundMessage.objects.filter(status__in=["dispatched", "sending", "unknown"])
            .values("status")
            .annotate(n=Count("pk"))
        )
        return {row["status"]: row["n"] for row in rows}
