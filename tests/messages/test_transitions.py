"""Every status change of a message goes through one module and is announced exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tests.messages.conftest import phone
from tests.source_scan import product_modules, update_calls
from whatsapp import api
from whatsapp.models import OutboundMessage
from whatsapp.models.message import MessageStatus
from whatsapp.services import dispatch, message_sweep, receipts, send, transitions

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    seen: list[tuple] = []

    def listener(message_id, old, new):
        seen.append((message_id, old, new))

    transitions.on_change(listener)
    yield seen
    transitions.remove_listener(listener)


@pytest.fixture
def instance(connected_instance):
    return connected_instance


def test_a_send_is_announced_at_each_step_once(instance, heard):
    message = api.send_text(phone(1), "steps")
    result = dispatch.dispatch_instance(instance.pk)
    send.send(result.claimed[0], result.token)
    assert heard == [
        (message.pk, "queued", "dispatched"),
        (message.pk, "dispatched", "sending"),
        (message.pk, "sending", "sent"),
    ]


def test_an_ack_moves_forward_once_and_an_older_ack_announces_nothing(instance, heard):
    message = api.send_text(phone(1), "acks")
    result = dispatch.dispatch_instance(instance.pk)
    send.send(result.claimed[0], result.token)
    message.refresh_from_db()
    heard.clear()
    read = {"id": message.gateway_message_id, "ack": 3}
    assert receipts.apply_ack(instance, read) == "ack 3: applied"
    assert receipts.apply_ack(instance, {**read, "ack": 2}).endswith(
        "older than the current status"
    )
    assert receipts.apply_ack(instance, read).endswith("older than the current status")
    assert heard == [(message.pk, "sent", "read")]


def test_bulk_changes_announce_each_message_and_no_op_changes_announce_nothing(instance, heard):
    expiring = [
        api.send_text(phone(n), f"expiring {n}", expires_at=timezone.now() + timedelta(seconds=5))
        for n in range(3)
    ]
    kept = api.send_text(phone(9), "kept")
    assert dispatch.expire_due(timezone.now() + timedelta(seconds=10)) == 3
    assert sorted(heard) == sorted((m.pk, "queued", "expired") for m in expiring)
    heard.clear()
    assert dispatch.expire_due(timezone.now() + timedelta(seconds=10)) == 0
    api.cancel(kept.pk)
    with pytest.raises(api.InvalidTransition):
        api.cancel(kept.pk)
    assert heard == [(kept.pk, "queued", "cancelled")]


def test_a_sweep_announces_what_it_releases(instance, heard):
    message = api.send_text(phone(1), "lost task")
    dispatch.dispatch_instance(instance.pk)
    heard.clear()
    message_sweep.sweep(now=timezone.now() + timedelta(minutes=5))
    assert heard == [(message.pk, "dispatched", "queued")]


def test_listeners_run_inside_the_writing_transaction(instance):
    message = api.send_text(phone(1), "rolled back")

    def fail(message_id, old, new):
        raise RuntimeError("listener failed")

    transitions.on_change(fail)
    try:
        # The caller's transaction (here a savepoint of the test's) is rolled back with it.
        with pytest.raises(RuntimeError), transaction.atomic():
            api.cancel(message.pk)
    finally:
        transitions.remove_listener(fail)
    assert OutboundMessage.objects.get(pk=message.pk).status == "queued"


def test_a_status_never_moves_against_the_arrows(instance):
    message = api.send_text(phone(1), "forward only")
    OutboundMessage.objects.filter(pk=message.pk).update(status=MessageStatus.READ)
    with pytest.raises(ValueError):
        transitions.move(message.pk, frm=MessageStatus.READ, to=MessageStatus.SENT)
    with pytest.raises(ValueError):
        transitions.move_many(Q(pk=message.pk), frm=MessageStatus.SENT, to=MessageStatus.QUEUED)


def test_a_move_with_another_token_changes_nothing(instance, heard):
    message = api.send_text(phone(1), "token")
    result = dispatch.dispatch_instance(instance.pk)
    heard.clear()
    other = transitions.move(
        message.pk, frm=MessageStatus.DISPATCHED, to=MessageStatus.SENDING, token=None
    )
    assert other is False and heard == []
    assert transitions.move(
        message.pk, frm=MessageStatus.DISPATCHED, to=MessageStatus.SENDING, token=result.token
    )


# Models other than messages whose rows have a `status` of their own.
OTHER_MODELS_WITH_STATUS = {"SessionOperation", "GatewayEvent", "HealthSample"}


def test_nothing_but_the_transitions_module_updates_a_message_status():
    offenders = [
        f"{path}:{call.lineno}"
        for path, tree in product_modules(exclude=("whatsapp/services/transitions.py",))
        for call, root, names in update_calls(tree)
        if "status" in names and root not in OTHER_MODELS_WITH_STATUS
    ]
    assert offenders == []
