"""Holding an instance (a dispatch, a session change) never stalls its enqueues and sends.

PostgreSQL's foreign-key check takes `FOR KEY SHARE` on the instance for every message and
attempt row inserted; the product's lock on the instance (`Instance.objects.locked()`) must not
conflict with it. Transactional: two connections, as a worker and a web process would hold.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from tests.messages.conftest import UNPACED, connect, phone
from whatsapp import api
from whatsapp.models import Instance, OutboundMessage
from whatsapp.models.message import MessageStatus
from whatsapp.services import dispatch, send

pytestmark = pytest.mark.usefixtures("transactional_db")


@contextmanager
def held_elsewhere(take: Callable[[], object]) -> Iterator[None]:
    """Run `take` in a transaction on another connection and keep it open for the block."""
    taken, release = threading.Event(), threading.Event()
    failed: list[BaseException] = []

    def hold() -> None:
        try:
            with transaction.atomic():
                take()
                taken.set()
                release.wait(30)
        except BaseException as exc:  # reported by the test's thread
            failed.append(exc)
            taken.set()
        finally:
            connections.close_all()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert taken.wait(30) and not failed, failed
        yield
    finally:
        release.set()
        thread.join(30)


@contextmanager
def lock_timeout() -> Iterator[None]:
    """A statement waiting for a lock fails after a second instead of hanging the test."""
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '1s'")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 0")


@pytest.fixture
def instance(make_instance, sim):
    row = make_instance("main", **UNPACED)
    connect(sim, row)
    return row


def locked(pk: int) -> Callable[[], object]:
    return lambda: Instance.objects.locked().get(pk=pk)


def test_an_enqueue_goes_through_while_the_instance_is_held(instance):
    with held_elsewhere(locked(instance.pk)), lock_timeout():
        api.send_text(phone(1), "while a dispatch holds the instance")
    assert OutboundMessage.objects.filter(instance=instance).count() == 1


def test_a_send_s_claim_goes_through_while_the_instance_is_held(instance):
    api.send_text(phone(2), "claimed while held")
    result = dispatch.dispatch_instance(instance.pk)
    [ident] = result.claimed
    with held_elsewhere(locked(instance.pk)), lock_timeout():
        claimed = send.claim(ident, result.token, timezone.now())
    assert claimed is not None
    assert OutboundMessage.objects.get(pk=ident).status == MessageStatus.SENDING


def test_a_refill_is_not_turned_away_by_a_send_mid_claim(instance):
    """A send's claim holds `FOR KEY SHARE` on the instance until it commits; a refill
    (`SKIP LOCKED`) must still take the instance, not report it busy and wait to look again."""
    api.send_text(phone(3), "refilled")

    def key_share() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM whatsapp_instance WHERE id = %s FOR KEY SHARE", [instance.pk]
            )

    with held_elsewhere(key_share):
        result = dispatch.dispatch_instance(instance.pk, wait_for_lock=False)
    assert not result.busy and len(result.claimed) == 1


def test_dispatchers_still_take_turns(instance):
    """The lock still serialises its holders: a second refill finds the instance busy."""
    api.send_text(phone(4), "one dispatcher at a time")
    with held_elsewhere(locked(instance.pk)):
        result = dispatch.dispatch_instance(instance.pk, wait_for_lock=False)
    assert result.busy and result.claimed == []
