"""The doorbell: publish after commit, by task name, never raising, counted."""

from __future__ import annotations

import logging
from unittest import mock

import pytest
import redis
from django.db import transaction

from tests.redis_process import free_port
from whatsapp import doorbell

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_ring_inside_a_transaction_is_published_only_after_the_commit():
    with mock.patch("whatsapp.doorbell._send") as send:
        with transaction.atomic():
            doorbell.ring(doorbell.DISPATCH, 7)
            assert not send.called
        send.assert_called_once_with(doorbell.DISPATCH, (7,), None, None)


def test_a_rolled_back_transaction_rings_nothing():
    with mock.patch("whatsapp.doorbell._send") as send:
        with pytest.raises(RuntimeError), transaction.atomic():
            doorbell.ring(doorbell.DISPATCH, 7)
            raise RuntimeError("rolled back")
    assert not send.called


def test_a_broker_failure_is_logged_and_counted_never_raised(caplog):
    before = doorbell.counts[(doorbell.SEND, "failed")]
    with (
        mock.patch("whatsapp.doorbell._send", side_effect=ConnectionError("redis down")),
        caplog.at_level(logging.WARNING, logger="whatsapp.doorbell"),
    ):
        with transaction.atomic():
            doorbell.ring(doorbell.SEND, "id", "token")
    assert doorbell.counts[(doorbell.SEND, "failed")] == before + 1
    assert "Could not publish whatsapp.messages.send (ConnectionError)" in caplog.text


def test_after_a_failure_rings_are_skipped_for_a_moment_then_published_again(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(doorbell.time, "monotonic", lambda: clock[0])
    with mock.patch("whatsapp.doorbell._send", side_effect=ConnectionError("down")) as send:
        assert doorbell.publish(doorbell.DISPATCH, (1,)) is False
        assert doorbell.publish(doorbell.DISPATCH, (2,)) is False
        assert send.call_count == 1  # the second did not wait on a dead broker
    clock[0] += doorbell.COOLDOWN_SECONDS + 0.1
    with mock.patch("whatsapp.doorbell._send") as send:
        assert doorbell.publish(doorbell.DISPATCH, (3,)) is True
        send.assert_called_once_with(doorbell.DISPATCH, (3,), None, None)


def test_publish_routes_by_task_name_with_a_countdown():
    with mock.patch("celery.current_app.send_task") as send_task:
        assert doorbell.publish(doorbell.RECONCILE, ("abc",), countdown=15)
    send_task.assert_called_once()
    name = send_task.call_args.args[0]
    assert name == "whatsapp.messages.reconcile"
    assert send_task.call_args.kwargs["args"] == ["abc"]
    assert send_task.call_args.kwargs["countdown"] == 15


def test_no_product_code_publishes_a_task_but_the_doorbell():
    import ast

    from tests.source_scan import product_modules

    offenders = []
    for path, tree in product_modules(exclude=("whatsapp/doorbell.py",)):
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in {
                "delay",
                "apply_async",
                "send_task",
                "delay_on_commit",
                "apply_async_on_commit",
            }:
                offenders.append(f"{path}:{node.lineno} .{node.attr}")
    assert offenders == []


def test_services_never_import_task_modules():
    import ast

    from tests.source_scan import product_modules

    offenders = []
    for path, tree in product_modules():
        if not path.startswith(("whatsapp/services/", "whatsapp/doorbell.py")):
            continue
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            if any(name.startswith("whatsapp.tasks") for name in names):
                offenders.append(f"{path}:{node.lineno}")
    assert offenders == []


def test_a_publish_never_waits_on_the_result_backend():
    # Sent by name outside a worker, a task would otherwise subscribe to its result.
    with mock.patch("celery.current_app.send_task") as send_task:
        assert doorbell.publish(doorbell.DISPATCH, (1,))
    assert send_task.call_args.kwargs["ignore_result"] is True


def _pending_rings_published(instance_id: int, rings: int) -> int:
    with mock.patch("whatsapp.doorbell._send") as send:
        for _ in range(rings):
            with transaction.atomic():
                doorbell.ring_pending(doorbell.DISPATCH, instance_id)
    return send.call_count


def test_pending_rings_for_one_instance_publish_once_until_its_task_starts():
    doorbell.started(doorbell.DISPATCH, 9101)
    doorbell.started(doorbell.DISPATCH, 9102)
    assert _pending_rings_published(9101, 5) == 1
    assert _pending_rings_published(9102, 2) == 1  # another instance has its own
    doorbell.started(doorbell.DISPATCH, 9101)
    assert _pending_rings_published(9101, 3) == 1
    doorbell.started(doorbell.DISPATCH, 9101)
    doorbell.started(doorbell.DISPATCH, 9102)


def test_a_pending_mark_lasts_only_a_few_seconds_so_a_lost_ring_does_not_hold_the_next():
    doorbell.started(doorbell.DISPATCH, 9103)
    assert _pending_rings_published(9103, 1) == 1
    ttl = doorbell._pending_client().ttl(doorbell._pending_key(doorbell.DISPATCH, (9103,)))
    assert 0 < ttl <= doorbell.PENDING_SECONDS
    doorbell.started(doorbell.DISPATCH, 9103)


def test_the_pending_mark_s_client_is_kept_with_the_connection_and_dropped_with_it():
    """kombu's `default_channel` re-checks the connection on every use: once per connection."""
    from kombu import Connection

    doorbell._drop_connection()
    real = Connection.default_channel.fget
    channel = mock.PropertyMock(side_effect=lambda: real(connection))
    connection = doorbell._connection()
    with mock.patch.object(type(connection), "default_channel", channel):
        first = doorbell._pending_client()
        assert doorbell._pending_client() is first and channel.call_count == 1
        doorbell._drop_connection()  # as after a failed publish
        connection = doorbell._connection()
        assert doorbell._pending_client() is not first and channel.call_count == 2
    doorbell._drop_connection()


def test_a_pending_ring_the_broker_cannot_mark_counts_as_a_failed_publish(caplog):
    before = doorbell.counts[(doorbell.DISPATCH, "failed")]
    # A client of a port nothing listens on: the mark's connection is refused.
    client = redis.Redis(port=free_port(), socket_connect_timeout=0.25)
    with (
        mock.patch("whatsapp.doorbell._pending_client", return_value=client),
        mock.patch("whatsapp.doorbell._send") as send,
        caplog.at_level(logging.WARNING, logger="whatsapp.doorbell"),
    ):
        with transaction.atomic():
            doorbell.ring_pending(doorbell.DISPATCH, 9104)
        assert not send.called
        assert doorbell.publish(doorbell.DISPATCH, (9104,)) is False  # the cooldown holds
    assert doorbell.counts[(doorbell.DISPATCH, "failed")] == before + 1
    assert "Could not publish whatsapp.messages.dispatch (ConnectionError)" in caplog.text


def test_equal_rings_in_one_transaction_publish_once_and_different_ones_each():
    with mock.patch("whatsapp.doorbell._send") as send:
        with transaction.atomic():
            for _ in range(3000):
                doorbell.ring(doorbell.DISPATCH, 7)
            doorbell.ring(doorbell.DISPATCH, 8)
            doorbell.ring(doorbell.DISPATCH, 7, countdown=5)
    assert [call.args for call in send.call_args_list] == [
        (doorbell.DISPATCH, (7,), None, None),
        (doorbell.DISPATCH, (8,), None, None),
        (doorbell.DISPATCH, (7,), 5, None),
    ]


def test_a_ring_kept_once_survives_the_rollback_of_a_savepoint_that_rang_first():
    with mock.patch("whatsapp.doorbell._send") as send:
        with transaction.atomic():
            with pytest.raises(RuntimeError), transaction.atomic():
                doorbell.ring(doorbell.DISPATCH, 7)
                raise RuntimeError("savepoint rolled back")
            doorbell.ring(doorbell.DISPATCH, 7)  # its row is in the outer transaction
        with transaction.atomic():
            with transaction.atomic():
                doorbell.ring(doorbell.DISPATCH, 9)
            doorbell.ring(doorbell.DISPATCH, 9)  # the savepoint was released: it cannot drop it
    assert [call.args[1] for call in send.call_args_list] == [(7,), (9,)]


def test_pending_rings_in_one_transaction_wait_for_the_commit_once():
    with mock.patch("whatsapp.doorbell._publish_pending") as publish_pending:
        with transaction.atomic():
            for _ in range(1000):
                doorbell.ring_pending(doorbell.DISPATCH, 9201)
            doorbell.ring_pending(doorbell.DISPATCH, 9202)
            doorbell.ring(doorbell.DISPATCH, 9201)  # a plain ring is its own
    assert [call.args for call in publish_pending.call_args_list] == [
        (doorbell.DISPATCH, (9201,)),
        (doorbell.DISPATCH, (9202,)),
    ]
