"""Outcomes as an enum; rows whose task or worker is gone released at once; a message that kills
its worker fails after the attempt limit; pacing counts as the gateway sees it; pruning."""

from __future__ import annotations

import ast
import os
import re
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.messages.conftest import UNPACED, connect, phone
from tests.source_scan import BASE_DIR, product_modules
from whatsapp import api, doorbell, liveness
from whatsapp.models import GatewayEvent, Instance, MessageAttempt, OutboundMessage
from whatsapp.models.events import EventState
from whatsapp.models.message import AttemptOutcome
from whatsapp.services import dispatch, message_sweep, pacing, pruning, reconcile, send
from whatsapp.tasks.messages import publish_sends

pytestmark = pytest.mark.django_db


@pytest.fixture
def instance(connected_instance):
    return connected_instance


def test_every_outcome_written_is_one_of_the_enum(instance, sim):
    for n, fault in enumerate([{}, {"drop_rate": 1.0}, {"error_rate": 1.0}]):
        sim.clear_faults()
        if fault:
            sim.set_fault("send-message", **fault)
        api.send_text(phone(n), f"outcome {n}")
        result = dispatch.dispatch_instance(instance.pk)
        send.send(result.claimed[0], result.token)
    outcomes = set(MessageAttempt.objects.values_list("outcome", flat=True))
    assert outcomes <= set(AttemptOutcome.values) and len(outcomes) >= 2
    assert MessageAttempt._meta.get_field("outcome").choices == AttemptOutcome.choices


def test_no_outcome_is_written_or_compared_as_a_bare_string():
    offenders = []
    for path, tree in product_modules():
        if not path.startswith("whatsapp/services/"):
            continue
        for node in ast.walk(tree):
            for keyword in getattr(node, "keywords", []):
                if keyword.arg == "outcome" and isinstance(keyword.value, ast.Constant):
                    offenders.append(f"{path}:{node.lineno}")
    assert offenders == []


def test_no_decision_reads_an_error_messages_english_text():
    pattern = re.compile(r"""["'][^"']+["']\s+(not\s+)?in\s+\w+\.(message|server_message)""")
    offenders = [
        f"{path}"
        for path in ("whatsapp/services", "whatsapp/tasks", "whatsapp/views")
        for file in (BASE_DIR / path).rglob("*.py")
        if pattern.search(file.read_text())
    ]
    assert offenders == []


def test_the_beat_dispatcher_gets_one_id_per_instance_with_3000_scheduled_messages(instance):
    tomorrow = timezone.now() + timedelta(days=1)
    OutboundMessage.objects.bulk_create(
        OutboundMessage(
            instance=instance, recipient=phone(n), body=f"later {n}", not_before=tomorrow
        )
        for n in range(3000)
    )
    assert dispatch.instances_with_work() == [instance.pk]


def claimed_by_a_worker(instance, worker: str) -> OutboundMessage:
    message = api.send_text(phone(1), "in flight")
    result = dispatch.dispatch_instance(instance.pk)
    assert result.token is not None
    assert send.claim(result.claimed[0], result.token, timezone.now()) is not None
    MessageAttempt.objects.filter(message=message).update(worker=worker)
    return OutboundMessage.objects.get(pk=message.pk)


def test_a_send_whose_worker_died_is_released_at_once_not_at_its_lease(instance):
    message = claimed_by_a_worker(instance, "gone-host:12345")
    assert message.lease_expires_at > timezone.now() + timedelta(seconds=60)
    result = message_sweep.sweep()
    message.refresh_from_db()
    assert result.orphaned == 1 and message.status == "unknown"
    assert message.attempt_log.get().outcome == AttemptOutcome.LOST
    assert message.attempts == 1  # the lost try counts


def test_a_send_whose_worker_beats_is_left_alone(instance):
    liveness.start()
    assert liveness.beat()
    message = claimed_by_a_worker(instance, liveness.worker_id())
    assert message_sweep.sweep().orphaned == 0
    assert OutboundMessage.objects.get(pk=message.pk).status == "sending"


def test_a_released_send_is_not_sent_again_while_its_call_may_still_run(instance, sim):
    message = claimed_by_a_worker(instance, "gone-host:12345")
    message_sweep.sweep()
    what, ring = reconcile.reconcile(message.pk)
    assert what.startswith("not found yet") and ring is None
    assert OutboundMessage.objects.get(pk=message.pk).status == "unknown"
    # Once the heartbeat has surely not come back, the gateway's "not found" is believed.
    MessageAttempt.objects.filter(message=message).update(
        finished_at=timezone.now() - timedelta(seconds=liveness.TTL_SECONDS + 2)
    )
    assert reconcile.reconcile(message.pk)[0] == "not found: queued again"


def test_a_message_that_kills_its_worker_every_time_fails_after_the_attempt_limit(instance, sim):
    message = api.send_text(phone(1), "poison")
    for _ in range(send.MAX_ATTEMPTS + 2):
        OutboundMessage.objects.filter(pk=message.pk, status="queued").update(next_attempt_at=None)
        result = dispatch.dispatch_instance(instance.pk)
        if not result.claimed:
            break
        send.claim(result.claimed[0], result.token, timezone.now())  # then the worker dies
        MessageAttempt.objects.filter(message=message).update(
            worker="gone-host:1", started_at=timezone.now() - timedelta(minutes=5)
        )
        message_sweep.sweep()
        reconcile.reconcile(message.pk)
    message.refresh_from_db()
    assert message.status == "failed"
    assert message.attempts == send.MAX_ATTEMPTS
    assert message.attempt_log.count() == send.MAX_ATTEMPTS


@pytest.fixture
def private_broker(monkeypatch):
    """A broker database no worker reads: a live worker on the shared one would take these rows'
    doorbells and tasks (a dispatch, a send) and act on them. Celery reads CELERY_BROKER_URL
    from the environment before its configuration, so both change."""
    import celery
    import redis

    from whatsapp import doorbell

    app = celery.current_app
    own_url = app.conf.broker_url.rsplit("/", 1)[0] + "/13"
    broker = redis.Redis.from_url(own_url)
    broker.flushdb()
    monkeypatch.setenv("CELERY_BROKER_URL", own_url)
    monkeypatch.setattr(app.conf, "broker_url", own_url)
    doorbell.reset()
    yield broker
    monkeypatch.undo()
    doorbell.reset()
    broker.flushdb()


@pytest.mark.django_db(transaction=True)
def test_a_dispatched_row_whose_task_is_not_in_the_broker_is_released_at_once(
    make_instance, sim, private_broker
):
    instance = make_instance("main", **UNPACED)
    connect(sim, instance)
    for n in range(2):
        api.send_text(phone(n), f"dispatched {n}")
    result = dispatch.dispatch_instance(instance.pk)
    kept, lost = result.claimed
    private_broker.flushdb()  # the dispatcher's doorbells of the sends above
    publish_sends([kept], result.token)  # only one of the two tasks reached the broker
    OutboundMessage.objects.filter(pk__in=result.claimed).update(
        updated_at=timezone.now() - timedelta(seconds=10)
    )
    assert message_sweep.sweep().requeued == 1
    assert OutboundMessage.objects.get(pk=kept).status == "dispatched"
    assert OutboundMessage.objects.get(pk=lost).status == "queued"


def test_caps_count_a_try_until_a_window_after_it_finished(instance):
    Instance.objects.filter(pk=instance.pk).update(cap_per_minute=1)
    instance.refresh_from_db()
    message = api.send_text(phone(1), "slow at the gateway")
    now = timezone.now()
    MessageAttempt.objects.create(
        message=message,
        instance=instance,
        number=1,
        started_at=now - timedelta(seconds=75),  # claimed long ago...
        finished_at=now - timedelta(seconds=30),  # ...answered half a minute ago
        outcome=AttemptOutcome.SENT,
    )
    budget = pacing.budget(instance, now, in_flight=0, dispatched=0)
    assert budget.slots == 0 and 29 < budget.wait <= 30.5


def test_caps_count_tries_still_in_flight_and_ignore_those_proven_not_sent(instance):
    Instance.objects.filter(pk=instance.pk).update(cap_per_minute=2)
    instance.refresh_from_db()
    message = api.send_text(phone(1), "in flight")
    now = timezone.now()
    in_flight = {"message": message, "instance": instance, "number": 1}
    MessageAttempt.objects.create(
        **in_flight, started_at=now - timedelta(hours=2), outcome=AttemptOutcome.SENDING
    )
    for outcome in (AttemptOutcome.UNREACHABLE, AttemptOutcome.NOT_CONNECTED):
        MessageAttempt.objects.create(**in_flight, started_at=now, finished_at=now, outcome=outcome)
    assert pacing.sends_since(instance, now - timedelta(minutes=1))[0] == 1
    assert pacing.budget(instance, now, in_flight=0, dispatched=1).slots == 0


def test_the_pacing_count_reads_an_index_range_not_the_history(instance):
    if connection.vendor != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    message = api.send_text(phone(1), "history")
    long_ago = timezone.now() - timedelta(days=30)
    MessageAttempt.objects.bulk_create(
        MessageAttempt(
            message=message,
            instance=instance,
            number=n,
            started_at=long_ago,
            finished_at=long_ago,
            outcome=AttemptOutcome.SENT,
        )
        for n in range(5000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE whatsapp_messageattempt")
    plan = pacing.counted_tries(instance, timezone.now() - timedelta(minutes=1)).explain()
    assert "attempt_window_idx" in plan and "attempt_in_flight_idx" in plan, plan
    assert "Seq Scan" not in plan, plan


def test_finished_messages_attempts_and_events_are_pruned_after_the_retention(
    instance, whatsapp_conf
):
    whatsapp_conf.MESSAGE_RETENTION_DAYS = 90
    old = timezone.now() - timedelta(days=91)
    done = [api.send_text(phone(n), f"old {n}") for n in range(3)]
    waiting = api.send_text(phone(9), "old but still queued")
    recent = api.send_text(phone(8), "recent")
    for message in [*done, recent]:
        MessageAttempt.objects.create(
            message=message, instance=instance, number=1, started_at=old, finished_at=old,
            outcome=AttemptOutcome.SENT,
        )  # fmt: skip
    OutboundMessage.objects.filter(pk__in=[m.pk for m in [*done, recent]]).update(status="read")
    OutboundMessage.objects.filter(pk__in=[m.pk for m in [*done, waiting]]).update(created_at=old)
    applied = GatewayEvent.objects.create(
        instance=instance, event="x", payload={}, state=EventState.APPLIED, processed_at=old
    )
    pending = GatewayEvent.objects.create(instance=instance, event="y", payload={})
    GatewayEvent.objects.filter(pk=pending.pk).update(received_at=old)
    pruning.BATCH = 2  # several batches
    try:
        assert pruning.prune() == {
            "messages": 3,
            "events": 1,
            "audit": 0,
            "media_fetches": 0,
            "media": 0,
        }
    finally:
        pruning.BATCH = 2000
    assert set(OutboundMessage.objects.values_list("pk", flat=True)) == {waiting.pk, recent.pk}
    assert MessageAttempt.objects.count() == 1
    assert not GatewayEvent.objects.filter(pk=applied.pk).exists()
    assert GatewayEvent.objects.filter(pk=pending.pk).exists()


def test_the_send_task_id_names_the_message_and_its_token(rung):
    message_id, token = uuid.uuid4(), uuid.uuid4()
    assert str(message_id) in dispatch.send_task_id(message_id, token)
    assert str(token) in dispatch.send_task_id(message_id, token)
    assert doorbell.SEND == "whatsapp.messages.send" and os.getpid()
