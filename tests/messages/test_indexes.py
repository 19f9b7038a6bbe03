"""The dispatcher's queries find their rows through an index, whatever the backlog."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.messages.conftest import phone
from whatsapp import api
from whatsapp.models import OutboundMessage
from whatsapp.services import dispatch

pytestmark = pytest.mark.django_db


def plan_of(sql: str) -> str:
    with connection.cursor() as cursor:
        # A small table: without this the planner would read it whole, whatever the indexes.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_expiring_due_messages_reads_only_queued_rows_that_have_an_expiry(make_instance):
    instance = make_instance("main")
    OutboundMessage.objects.bulk_create(
        OutboundMessage(instance=instance, recipient=phone(n), body=f"no expiry {n}")
        for n in range(2000)
    )
    api.send_text(phone(9), "expires", expires_at=timezone.now() + timedelta(hours=1))
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {OutboundMessage._meta.db_table}")
    with CaptureQueriesContext(connection) as queries:
        dispatch.expire_due(timezone.now(), instance.pk)
    select = next(q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT"))
    assert "msg_expiry_idx" in plan_of(select)


def test_the_in_flight_count_reads_only_the_instance_s_in_flight_rows(make_instance):
    """The outcome of an unpaced send counts the instance's messages still in flight. With an
    index on the instance alone beside msg_dispatch_idx, the planner took it and read every
    message of the instance, a backlog of thousands on each send."""
    instance = make_instance("main")
    OutboundMessage.objects.bulk_create(
        OutboundMessage(instance=instance, recipient=phone(n), body=f"queued {n}")
        for n in range(2000)
    )
    table = OutboundMessage._meta.db_table
    for status in dispatch.IN_FLIGHT:
        # As services/send.py counts them: one index range per status.
        plan = plan_of(
            f"SELECT count(*) FROM {table}"
            f" WHERE instance_id = {instance.pk} AND status = '{status}'"
        )
        assert "msg_dispatch_idx" in plan and "Filter" not in plan, plan
    indexed = {
        tuple(spec["columns"])
        for spec in connection.introspection.get_constraints(connection.cursor(), table).values()
        if spec["index"]
    }
    assert ("instance_id",) not in indexed
