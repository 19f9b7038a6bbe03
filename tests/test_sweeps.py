"""One sweep re-drives every kind of row a lost doorbell can leave behind."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.messages.conftest import UNPACED, connect, phone
from whatsapp import api, doorbell
from whatsapp.models import GatewayEvent, SessionOperation
from whatsapp.models.operation import OperationKind
from whatsapp.services import sweeps
from whatsapp.tasks import housekeeping

pytestmark = pytest.mark.django_db

LONG_AGO = timedelta(minutes=10)


def test_the_sweep_covers_every_kind_of_row_by_default():
    assert {"operations", "events", "messages", "queued"} <= set(sweeps.registered())


def test_each_kind_left_without_its_doorbell_is_rung_again(make_instance, sim, rung):
    instance = make_instance("main", **UNPACED)
    connect(sim, instance)
    operation = SessionOperation.objects.create(instance=instance, kind=OperationKind.REFRESH)
    SessionOperation.objects.filter(pk=operation.pk).update(created_at=timezone.now() - LONG_AGO)
    event = GatewayEvent.objects.create(
        instance=instance, event="status-find", payload={"event": "status-find"}
    )
    GatewayEvent.objects.filter(pk=event.pk).update(received_at=timezone.now() - LONG_AGO)
    api.send_text(phone(1), "doorbell lost")
    rung.clear()
    results = housekeeping.sweep()
    assert rung.args_of(doorbell.RUN_OPERATION) == [operation.pk]
    assert rung.args_of(doorbell.APPLY_EVENT) == [event.pk]
    assert rung.args_of(doorbell.DISPATCH) == [instance.pk]
    assert results["operations"] == 1 and results["events"] == 1 and results["queued"] == 1


def test_a_new_kind_of_row_joins_the_sweep_with_one_line(monkeypatch, rung):
    monkeypatch.setattr(sweeps, "_sweepers", dict(sweeps.registered()))
    seen = []
    sweeps.register("deliveries", lambda now: seen.append(now) or 4)
    assert housekeeping.sweep()["deliveries"] == 4 and len(seen) == 1
