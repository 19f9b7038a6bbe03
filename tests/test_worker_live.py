"""A real worker process on the real broker runs what is enqueued on commit, and only that."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import cache
from django.db import transaction

from tests.live import running_worker, wait_until
from worker.tasks import ping, ping_key

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


def test_a_task_enqueued_with_delay_on_commit_runs_on_a_real_worker():
    committed = uuid.uuid4().hex
    rolled_back = uuid.uuid4().hex
    with running_worker("default", pool="solo") as worker:
        with transaction.atomic():
            ping.delay_on_commit(committed)
        with pytest.raises(RuntimeError), transaction.atomic():
            ping.delay_on_commit(rolled_back)
            raise RuntimeError("roll back")

        # Another test's workers may share the queue, so order proves nothing: wait for the
        # committed task itself, then for a marker published after the rolled-back one would
        # have been.
        assert wait_until(lambda: cache.get(ping_key(committed)), timeout=60), worker.output()
        marker = uuid.uuid4().hex
        ping.delay(marker)
        assert wait_until(lambda: cache.get(ping_key(marker)), timeout=60), worker.output()
        assert cache.get(ping_key(rolled_back)) is None


def test_nothing_is_published_before_the_transaction_commits():
    nonce = uuid.uuid4().hex
    with running_worker("default", pool="solo") as worker:
        marker = uuid.uuid4().hex
        with transaction.atomic():
            ping.delay_on_commit(nonce)
            ping.delay(marker)  # published at once: proves the worker is consuming
            assert wait_until(lambda: cache.get(ping_key(marker)), timeout=60), worker.output()
            assert cache.get(ping_key(nonce)) is None
        assert wait_until(lambda: cache.get(ping_key(nonce)), timeout=30), worker.output()
