"""Dispatch, pacing, send outcomes, reconcile and sweep, called directly against the simulator."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.translation import gettext

from tests.messages.conftest import UNPACED, connect, phone, wait_back
from whatsapp import api
from whatsapp.models import Instance, MessageAttempt, OutboundMessage
from whatsapp.services import dispatch, message_sweep, outbox, pacing, reconcile, send

pytestmark = pytest.mark.django_db


@pytest.fixture
def instance(make_instance, sim):
    instance = make_instance("main", **UNPACED)
    connect(sim, instance)
    return instance


def dispatched(instance):
    result = dispatch.dispatch_instance(instance.pk)
    return result.claimed, result.token


def test_it_claims_in_priority_order_one_per_recipient(instance):
    low = api.send_text(phone(1), "low", priority="low")
    first = api.send_text(phone(2), "first to 2")
    second = api.send_text(phone(2), "second to 2")
    high = api.send_text(phone(3), "high", priority="high")
    claimed, token = dispatched(instance)
    assert claimed == [high.pk, first.pk, low.pk]
    assert OutboundMessage.objects.get(pk=second.pk).status == "queued"
    rows = OutboundMessage.objects.filter(pk__in=claimed)
    assert {(r.status, r.dispatch_token) for r in rows} == {("dispatched", token)}
    assert all(r.lease_expires_at > timezone.now() for r in rows)


def test_a_retry_waiting_message_keeps_later_ones_to_the_same_person_back(instance):
    waiting = api.send_text(phone(1), "retry me")
    later = api.send_text(phone(1), "later")
    OutboundMessage.objects.filter(pk=waiting.pk).update(
        next_attempt_at=timezone.now() + timedelta(seconds=30)
    )
    result = dispatch.dispatch_instance(instance.pk)
    assert later.pk not in result.claimed
    assert result.wake_in is not None and 25 < result.wake_in <= 30


def test_a_disconnected_instance_keeps_its_messages_waiting(instance):
    message = api.send_text(phone(1), "wait")
    Instance.objects.filter(pk=instance.pk).update(connected=False, status="CLOSED")
    assert dispatched(instance)[0] == []
    assert OutboundMessage.objects.get(pk=message.pk).status == "queued"


def test_pacing_allows_one_in_flight_and_respects_the_gap_and_caps(instance):
    Instance.objects.filter(pk=instance.pk).update(
        min_gap_seconds=2, max_gap_seconds=2, cap_per_minute=2
    )
    for n in range(4):
        api.send_text(phone(n), f"p{n}")
    first, token = dispatched(instance)
    assert len(first) == 1
    assert dispatched(instance)[0] == []  # one in flight
    assert send.send(first[0], token).status == "sent"
    gap = dispatch.dispatch_instance(instance.pk)
    assert gap.claimed == [] and 1.5 < gap.wake_in <= 2.0
    Instance.objects.filter(pk=instance.pk).update(next_send_at=None)
    second, token = dispatched(instance)
    assert len(second) == 1 and send.send(second[0], token).status == "sent"
    Instance.objects.filter(pk=instance.pk).update(next_send_at=None)
    capped = dispatch.dispatch_instance(instance.pk)
    assert capped.claimed == [] and 55 < capped.wake_in <= 60


def test_budget_unpaced_allows_several_in_flight(instance):
    instance.refresh_from_db()
    budget = pacing.budget(instance, timezone.now(), in_flight=3, dispatched=3)
    assert budget.slots == pacing.MAX_IN_FLIGHT_UNPACED - 3


def test_an_unpaced_window_is_refilled_in_large_batches(instance):
    """A refill's fixed cost (the lock, the counts, the pick) is spread over many messages: a
    dispatch fills a window of 64, and a finishing send refills it only once 16 are left."""
    for n in range(80):
        outbox.enqueue(instance, phone(n), f"batch {n}")
    assert len(dispatch.dispatch_instance(instance.pk).claimed) == 64
    assert not dispatch.needs_refill(instance.pk, paced=False, in_flight=17)
    assert dispatch.needs_refill(instance.pk, paced=False, in_flight=16)
    assert not dispatch.needs_refill(instance.pk, paced=False)  # counted here: 64 in flight


def test_a_send_is_claimed_once_and_records_the_gateway_id(instance, sim):
    message = api.send_text(phone(1), "hello once")
    (ident,), token = dispatched(instance)
    outcome = send.send(ident, token)
    assert outcome is not None and outcome.status == "sent"
    assert send.send(ident, token) is None  # a second delivery of the task
    message.refresh_from_db()
    assert message.status == "sent" and message.gateway_message_id.startswith("true_")
    assert message.attempts == 1 and message.sent_at
    attempt = MessageAttempt.objects.get(message=message)
    assert (attempt.outcome, attempt.http_status, attempt.number) == ("sent", 201, 1)
    assert len(sim.ledger(message="hello once")) == 1


def test_a_cancelled_dispatched_message_fails_its_claim(instance, sim):
    message = api.send_text(phone(1), "never")
    (ident,), token = dispatched(instance)
    api.cancel(message.pk)
    assert send.send(ident, token) is None
    assert sim.ledger(message="never") == []


def test_an_expired_dispatched_message_is_not_sent(instance, sim):
    message = api.send_text(phone(1), "too late", expires_at=timezone.now() + timedelta(seconds=5))
    (ident,), token = dispatched(instance)
    OutboundMessage.objects.filter(pk=message.pk).update(expires_at=timezone.now())
    assert send.send(ident, token) is None
    assert OutboundMessage.objects.get(pk=message.pk).status == "expired"
    assert sim.ledger(message="too late") == []


def test_an_unknown_number_fails_at_once_without_retry(instance, sim):
    sim.set_unknown_numbers([phone(7)])
    message = api.send_text(phone(7), "nobody")
    (ident,), token = dispatched(instance)
    assert send.send(ident, token).status == "failed"
    message.refresh_from_db()
    assert message.last_error == gettext("number is not on WhatsApp") and message.failed_at
    assert message.next_attempt_at is None
    assert dispatched(instance)[0] == []


def test_not_connected_puts_it_back_and_asks_for_a_refresh(make_instance, sim):
    # The row is wrong: the session never started on the gateway.
    instance = make_instance("main", connected=True, status="CONNECTED", **UNPACED)
    message = api.send_text(phone(1), "later")
    (ident,), token = dispatched(instance)
    outcome = send.send(ident, token)
    assert outcome.status == "queued" and outcome.refresh_instance
    message.refresh_from_db()
    assert message.status == "queued" and message.attempts == 0 and message.next_attempt_at
    assert not Instance.objects.get(pk=instance.pk).connected


def test_refused_connections_are_retried_with_backoff(instance, sim):
    message = api.send_text(phone(1), "refused")
    (ident,), token = dispatched(instance)
    sim.refuse(0.5)
    outcome = send.send(ident, token)
    wait_back(sim)
    assert outcome.status == "queued" and outcome.reconcile_in is None
    message.refresh_from_db()
    assert message.attempts == 1 and message.next_attempt_at > timezone.now()
    assert MessageAttempt.objects.get(message=message).outcome == "unreachable"


def test_attempts_are_capped_then_failed_with_the_last_reason(instance, sim):
    message = api.send_text(phone(1), "capped")
    OutboundMessage.objects.filter(pk=message.pk).update(attempts=send.MAX_ATTEMPTS - 1)
    (ident,), token = dispatched(instance)
    sim.refuse(0.5)
    assert send.send(ident, token).status == "failed"
    wait_back(sim)
    message.refresh_from_db()
    assert message.status == "failed" and message.last_error


def test_a_5xx_is_unknown_then_reconciled_as_not_sent(instance, sim):
    message = api.send_text(phone(1), "server error")
    (ident,), token = dispatched(instance)
    sim.set_fault("send-message", error_rate=1.0)
    outcome = send.send(ident, token)
    assert outcome.status == "unknown" and outcome.reconcile_in is not None
    sim.clear_faults()
    what, ring = reconcile.reconcile(message.pk)
    assert what.startswith("not found") and ring == instance.pk
    assert OutboundMessage.objects.get(pk=message.pk).status == "queued"


def test_a_dropped_answer_is_reconciled_as_sent_without_a_second_send(instance, sim):
    message = api.send_text(phone(1), "dropped answer")
    api.send_text(phone(1), "dropped answer")  # same text, another message: must not match
    (ident,), token = dispatched(instance)
    sim.set_fault("send-message", drop_rate=1.0)
    assert send.send(ident, token).status == "unknown"
    sim.clear_faults()
    assert reconcile.reconcile(message.pk)[0] == "found: sent"
    message.refresh_from_db()
    assert message.status == "sent" and message.gateway_message_id
    assert len(sim.ledger(message="dropped answer")) == 1


def test_the_sweeper_requeues_lost_dispatches_and_reconciles_dead_sends(instance):
    lost = api.send_text(phone(1), "lost task")
    dead = api.send_text(phone(2), "dead worker")
    old = api.send_text(phone(3), "expired", expires_at=timezone.now() + timedelta(seconds=1))
    _claimed, token = dispatched(instance)
    assert send.claim(dead.pk, token, timezone.now()) is not None
    OutboundMessage.objects.filter(pk=old.pk).update(
        status="queued", expires_at=timezone.now() - timedelta(seconds=1)
    )
    later = timezone.now() + timedelta(seconds=120)
    result = message_sweep.sweep(now=later)
    assert OutboundMessage.objects.get(pk=lost.pk).status == "queued"
    assert OutboundMessage.objects.get(pk=dead.pk).status == "unknown"
    assert OutboundMessage.objects.get(pk=old.pk).status == "expired"
    assert result.to_reconcile == [dead.pk]
    assert MessageAttempt.objects.get(message=dead).outcome == "lost"


def test_a_send_reads_its_row_only_in_its_claim_and_then_only_writes_it(instance):
    message = api.send_text(phone(1), "one read")
    (ident,), token = dispatched(instance)
    with CaptureQueriesContext(connection) as queries:
        assert send.send(ident, token).status == "sent"
    table = '"whatsapp_outboundmessage"'
    reads_of_the_row = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT")
        and f"FROM {table}" in q["sql"]
        and str(ident.hex) in q["sql"].replace("-", "")
    ]
    assert reads_of_the_row == []
    claims = [q["sql"] for q in queries.captured_queries if "INSERT INTO" in q["sql"]]
    assert len(claims) == 1 and claims[0].lstrip().startswith("WITH"), claims
    message.refresh_from_db()
    assert message.status == "sent"


def test_a_text_sends_claim_is_one_statement_without_joins_it_does_not_need(instance):
    """The claim moves the row, numbers and inserts the attempt and reads the row with its
    instance, in one statement."""
    api.send_text(phone(1), "first try")
    (ident,), token = dispatched(instance)
    with CaptureQueriesContext(connection) as queries:
        claimed = send.claim(ident, token, timezone.now())
    # The test's own transaction makes the claim's a savepoint.
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    (claim,) = statements
    assert "whatsapp_instance" in claim and "whatsapp_messageattempt" in claim
    assert "whatsapp_mediafile" not in claim
    assert "ORDER BY" not in claim
    assert claimed.attempt.number == 1
    assert OutboundMessage.objects.get(pk=ident).status == "sending"
    attempt = MessageAttempt.objects.get(message_id=ident)
    assert (attempt.pk, attempt.number, attempt.outcome) == (claimed.attempt.pk, 1, "sending")


def test_the_one_statement_claim_loads_the_row_and_instance_as_the_orm_does(instance):
    """JSON, times and choices arrive as the ORM would give them, the instance's secret reads."""
    Instance.objects.filter(pk=instance.pk).update(device={"platform": "android", "n": [1, 2]})
    api.send_location(phone(1), -22.9, -43.2, name="Praça ☕ مرحبا", metadata={"order": 7})
    (ident,), token = dispatched(instance)
    claimed = send.claim(ident, token, timezone.now())
    loaded, fresh = claimed.message, OutboundMessage.objects.get(pk=ident)
    for field in OutboundMessage._meta.concrete_fields:
        assert getattr(loaded, field.attname) == getattr(fresh, field.attname), field.name
    assert loaded.content["name"] == "Praça ☕ مرحبا"
    fresh_instance = Instance.objects.get(pk=instance.pk)
    for field in Instance._meta.concrete_fields:
        assert getattr(loaded.instance, field.attname) == getattr(fresh_instance, field.attname)
    assert loaded.instance.device == {"platform": "android", "n": [1, 2]}
    assert loaded.instance.secret_key == fresh_instance.secret_key
    assert loaded._state.adding is False


def test_the_claim_numbers_attempts_after_earlier_ones(instance, sim):
    message = api.send_text(phone(1), "again")
    (ident,), token = dispatched(instance)
    sim.set_fault("send-message", error_rate=1.0)
    assert send.send(ident, token).status == "unknown"
    sim.clear_faults()
    assert reconcile.reconcile(ident)[0].startswith("not found")
    OutboundMessage.objects.filter(pk=ident).update(next_attempt_at=None)
    (again,), token = dispatched(instance)
    claimed = send.claim(again, token, timezone.now())
    assert claimed.attempt.number == 2
    assert list(message.attempt_log.values_list("number", flat=True)) == [1, 2]


def test_a_paced_send_rings_the_dispatcher_once_when_its_gap_ends(make_instance, sim, monkeypatch):
    """A dispatch right after a paced send could only say "wait the gap": none runs; one wake
    is scheduled for the end of the gap the send set."""
    from whatsapp import doorbell
    from whatsapp.tasks import messages as message_tasks

    instance = make_instance("paced", **{**UNPACED, "min_gap_seconds": 30, "max_gap_seconds": 30})
    connect(sim, instance)
    api.send_text(phone(1), "first", instance="paced")
    api.send_text(phone(2), "second", instance="paced")
    published = []

    def publish(name, args, *, countdown=None, task_id=None, time_limits=None):
        published.append((name, tuple(args), countdown))
        return True

    monkeypatch.setattr(doorbell, "publish", publish)
    (ident,), token = dispatched(instance)
    published.clear()
    with CaptureQueriesContext(connection) as queries:
        assert message_tasks.send_message.run(str(ident), str(token)) == "sent"
    instance_locks = [
        q["sql"]
        for q in queries.captured_queries
        if "FOR UPDATE" in q["sql"] and 'FROM "whatsapp_instance"' in q["sql"]
    ]
    assert instance_locks == []
    assert [(name, args) for name, args, _countdown in published] == [
        (doorbell.DISPATCH, (instance.pk,))
    ]
    assert 29 <= published[0][2] <= 30
    instance.refresh_from_db()
    assert instance.next_send_at > timezone.now() + timedelta(seconds=29)


def test_a_sends_success_is_recorded_without_waiting_for_the_disk_in_one_statement(instance):
    api.send_text(phone(1), "fast outcome")
    (ident,), token = dispatched(instance)
    with CaptureQueriesContext(connection) as queries:
        assert send.send(ident, token).status == "sent"
    statements = [q["sql"] for q in queries.captured_queries]
    (finish,) = [sql for sql in statements if "synchronous_commit" in sql]
    assert "set_config('synchronous_commit', 'off', true)" in finish and ";" not in finish
    assert "UPDATE whatsapp_messageattempt" in finish
    assert "UPDATE whatsapp_outboundmessage" in finish
    with connection.cursor() as cursor:  # still inside the test's transaction: it applied
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "off"
    attempt = MessageAttempt.objects.get(message_id=ident)
    assert attempt.outcome == "sent" and attempt.http_status == 201
    assert attempt.finished_at is not None and attempt.duration_ms is not None


def test_a_sends_success_and_its_attempts_end_are_one_call_that_counts_what_is_in_flight(
    instance,
):
    """Unpaced: the outcome's statement also counts the instance's messages still in flight, so
    the refill decision needs no query of its own."""
    for n in range(3):
        api.send_text(phone(n), f"in flight {n}")
    (first, *_rest), token = dispatched(instance)
    with CaptureQueriesContext(connection) as queries:
        outcome = send.send(first, token)
    assert outcome.status == "sent" and outcome.in_flight == 2
    (outcome_sql,) = [
        q["sql"] for q in queries.captured_queries if "synchronous_commit" in q["sql"]
    ]
    assert "UPDATE whatsapp_outboundmessage" in outcome_sql and "count(*)" in outcome_sql
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    # The claim and the outcome; the outcome's statement also asked whether any webhook
    # endpoint is enabled (none is), so `sent` is announced without a read of the endpoints.
    assert len(statements) == 2, statements
    assert "whatsapp_webhookendpoint" in outcome_sql
    with CaptureQueriesContext(connection) as queries:
        assert dispatch.needs_refill(instance.pk, paced=False, in_flight=outcome.in_flight)
    assert queries.captured_queries == []
    row = OutboundMessage.objects.get(pk=first)
    assert (row.status, row.attempts, row.last_error, row.lease_expires_at) == ("sent", 1, "", None)


def test_an_answer_that_comes_after_the_sweeper_gave_up_still_records_the_send(
    instance, monkeypatch
):
    """The sweeper made the send unknown while the gateway was answering: the answer wins."""
    from whatsapp.gateway import SentMessage
    from whatsapp.services import outgoing, transitions

    api.send_text(phone(1), "late answer")
    (ident,), token = dispatched(instance)

    def slow_gateway(client, message, budget):
        transitions.move(ident, frm="sending", to="unknown", attempts=1)
        return SentMessage(id="true_5521987000001@c.us_LATE", ack=1, to="5521987000001@c.us")

    monkeypatch.setattr(outgoing, "deliver", slow_gateway)
    assert send.send(ident, token).status == "sent"
    row = OutboundMessage.objects.get(pk=ident)
    assert (row.status, row.gateway_message_id) == ("sent", "true_5521987000001@c.us_LATE")
    assert MessageAttempt.objects.get(message_id=ident).outcome == "sent"
