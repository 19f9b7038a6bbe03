"""A plain send's claim commits alone when no listener may write rows for `sending`.

Transactional: the point is what happens outside a transaction, as in a worker.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from tests.messages.conftest import UNPACED, connect, phone
from whatsapp import api
from whatsapp.models import OutboundMessage
from whatsapp.models.message import MessageStatus
from whatsapp.services import dispatch, send, transitions

pytestmark = pytest.mark.usefixtures("transactional_db")


@pytest.fixture
def claimable(make_instance, sim):
    instance = make_instance("main", **UNPACED)
    connect(sim, instance)
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
