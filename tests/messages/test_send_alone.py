"""The send path's two statements commit alone when no listener would write rows for them: a
plain send's claim (no listener writes for `sending`), and an unpaced send's success while no
webhook endpoint is enabled (services/hot_move.py); with one enabled, the event row commits with
the success.

Transactional: the point is what happens outside a transaction, as in a worker.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from tests.messages.conftest import UNPACED, connect, phone
from whatsapp import api, audit
from whatsapp.models import MessageAttempt, OutboundMessage, WebhookDelivery, WebhookEndpoint
from whatsapp.models.message import MessageStatus
from whatsapp.services import dispatch, hot_move, send, transitions, webhook_endpoints

pytestmark = pytest.mark.usefixtures("transactional_db")


@pytest.fixture
def instance(make_instance, sim):
    instance = make_instance("main", **UNPACED)
    connect(sim, instance)
    return instance


@pytest.fixture(autouse=True)
def fresh_memory():
    """Each test starts as a new worker process: nothing remembered about endpoints."""
    hot_move._writers_seen.clear()
    yield
    hot_move._writers_seen.clear()


@pytest.fixture
def statements():
    """Every statement with whether it ran inside a transaction Django opened."""
    seen: list[tuple[str, bool]] = []

    def record(execute, sql, params, many, context):
        seen.append((sql, connection.in_atomic_block))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield seen


def send_one(instance, n: int) -> OutboundMessage:
    message = api.send_text(phone(n), f"alone {n}")
    result = dispatch.dispatch_instance(instance.pk)
    (ident,) = [pk for pk in result.claimed if pk == message.pk]
    assert result.token is not None
    outcome = send.send(ident, result.token)
    assert outcome is not None and outcome.status == MessageStatus.SENT
    return OutboundMessage.objects.get(pk=ident)


def outcome_statements(seen: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    return [(sql, atomic) for sql, atomic in seen if "synchronous_commit" in sql]


def endpoint(**fields) -> WebhookEndpoint:
    return webhook_endpoints.create(audit.PYTHON, url="https://hooks.example.com/in", **fields)[0]


def test_with_no_endpoint_the_success_commits_in_its_own_statement(instance, statements):
    row = send_one(instance, 1)
    ((sql, atomic),) = outcome_statements(statements)
    assert not atomic and "(SELECT quiet FROM asked)" in sql
    assert (row.status, row.attempts, row.lease_expires_at) == ("sent", 1, None)
    attempt = MessageAttempt.objects.get(message=row)
    assert attempt.outcome == "sent" and attempt.finished_at is not None
    assert not WebhookDelivery.objects.exists()


def test_an_enabled_endpoint_gets_its_event_and_the_next_success_goes_straight_to_a_transaction(
    instance, statements
):
    endpoint()
    first = send_one(instance, 1)
    # The statement found the endpoint and moved nothing; the transaction did, with its event.
    alone, in_transaction = outcome_statements(statements)
    assert not alone[1] and "(SELECT quiet FROM asked)" in alone[0]
    assert in_transaction[1] and "(SELECT quiet FROM asked)" not in in_transaction[0]
    assert list(WebhookDelivery.objects.values_list("message_id", flat=True)) == [first.pk]
    assert MessageAttempt.objects.get(message=first).outcome == "sent"
    assert first.attempts == 1
    statements.clear()
    second = send_one(instance, 2)
    ((sql, atomic),) = outcome_statements(statements)
    assert atomic and "(SELECT quiet FROM asked)" not in sql
    assert WebhookDelivery.objects.filter(message_id=second.pk).count() == 1


def test_an_endpoint_enabled_after_a_success_alone_still_gets_the_next_event(instance):
    send_one(instance, 1)
    endpoint(events=["message.status"])
    second = send_one(instance, 2)
    assert list(WebhookDelivery.objects.values_list("message_id", flat=True)) == [second.pk]
    assert second.attempts == 1


def test_once_the_endpoints_are_disabled_successes_commit_alone_again(instance, statements):
    hook = endpoint()
    send_one(instance, 1)
    WebhookEndpoint.objects.filter(pk=hook.pk).update(enabled=False)
    send_one(instance, 2)  # in a transaction, whose hint says no endpoint is enabled
    statements.clear()
    send_one(instance, 3)
    ((sql, atomic),) = outcome_statements(statements)
    assert not atomic and "(SELECT quiet FROM asked)" in sql
    assert WebhookDelivery.objects.count() == 1


def test_a_listener_that_may_write_whatever_the_database_holds_keeps_the_transaction(
    instance, statements
):
    def listener(message_id, old, new):
        pass

    transitions.on_change(listener)
    try:
        assert transitions.quiet_when(MessageStatus.SENT) is None
        send_one(instance, 1)
    finally:
        transitions.remove_listener(listener)
    ((sql, atomic),) = outcome_statements(statements)
    assert atomic and "(SELECT quiet FROM asked)" not in sql


def test_the_success_of_a_message_the_sweeper_made_unknown_is_still_recorded(instance, monkeypatch):
    from whatsapp.gateway import SentMessage
    from whatsapp.services import outgoing

    message = api.send_text(phone(1), "late")
    result = dispatch.dispatch_instance(instance.pk)

    def slow_gateway(client, message, budget):
        transitions.move(message.pk, frm="sending", to="unknown", attempts=1)
        return SentMessage(id="true_5521987000001@c.us_LATE", ack=1, to="5521987000001@c.us")

    monkeypatch.setattr(outgoing, "deliver", slow_gateway)
    assert send.send(message.pk, result.token).status == "sent"
    row = OutboundMessage.objects.get(pk=message.pk)
    assert (row.status, row.gateway_message_id) == ("sent", "true_5521987000001@c.us_LATE")
    assert MessageAttempt.objects.get(message=row).outcome == "sent"


@pytest.fixture
def claimable(instance):
    api.send_text(phone(1), "claimed alone")
    result = dispatch.dispatch_instance(instance.pk)
    return result.claimed[0], result.token


@pytest.fixture
def heard():
    """A listener recording whether it ran inside a transaction, removed after the test."""
    calls: list[tuple[str, bool]] = []

    def listener(message_id, old, new):
        calls.append((new, connection.in_atomic_block))

    transitions.on_change(listener)
    yield listener, calls
    transitions.remove_listener(listener)


def test_the_product_s_listeners_write_nothing_for_sending_but_do_for_sent():
    assert not transitions.may_write(MessageStatus.SENDING)
    assert transitions.may_write(MessageStatus.SENT)


def test_with_no_listener_writing_the_claim_runs_outside_a_transaction(claimable, heard):
    listener, calls = heard
    transitions.writes_only_for(listener, [MessageStatus.SENT])
    ident, token = claimable
    claimed = send.claim(ident, token, timezone.now())
    assert claimed is not None and calls == [(MessageStatus.SENDING, False)]
    assert OutboundMessage.objects.get(pk=ident).status == MessageStatus.SENDING


def test_a_listener_that_may_write_gets_the_claim_s_transaction(claimable, heard):
    _listener, calls = heard  # no declaration: it may write for any status
    ident, token = claimable
    assert send.claim(ident, token, timezone.now()) is not None
    assert calls == [(MessageStatus.SENDING, True)]


def fresh_connection(monkeypatch, threshold: int | None) -> None:
    """A new connection (statements prepared by earlier tests are gone), preparing from the
    `threshold`th run of a statement."""
    connection.close()
    connection.ensure_connection()
    monkeypatch.setattr(connection.connection, "prepare_threshold", threshold)


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_where_the_host_lets_psycopg_prepare_the_claim_and_the_outcome_are_prepared(
    instance, monkeypatch
):
    """Bound on the server, the send's two statements are planned once per connection."""
    fresh_connection(monkeypatch, 0)
    for n in range(2):
        send_one(instance, n)
    prepared = prepared_statements()
    assert len(prepared) == 2, prepared  # the claim and the outcome, once each
    assert sorted("INSERT INTO whatsapp_messageattempt" in sql for sql in prepared) == [False, True]
    assert any("UPDATE whatsapp_messageattempt" in sql for sql in prepared)


def test_with_preparing_turned_off_nothing_is_prepared(instance, monkeypatch):
    """Django's default (`prepare_threshold` None), and DATABASE_PREPARE_STATEMENTS=false, for
    connection poolers that do not keep prepared statements."""
    fresh_connection(monkeypatch, None)
    for n in range(6):
        send_one(instance, n)
    assert prepared_statements() == []
