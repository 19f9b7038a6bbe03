"""A message row is inserted with a statement compiled once, and stored as `save()` stores it."""

from __future__ import annotations

import uuid
from unittest import mock

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Value
from django.db.models.signals import post_save, pre_save
from django.db.models.sql.compiler import SQLInsertCompiler

from tests.messages.conftest import phone
from whatsapp import api
from whatsapp.models import OutboundMessage
from whatsapp.services import row_insert

pytestmark = pytest.mark.django_db


@pytest.fixture
def instance(make_instance):
    return make_instance("main")


def new_message(instance, n: int = 1, **fields) -> OutboundMessage:
    return OutboundMessage(instance=instance, recipient=phone(n), **{"body": f"row {n}", **fields})


def stored(row: OutboundMessage) -> dict:
    fresh = OutboundMessage.objects.get(pk=row.pk)
    return {f.attname: getattr(fresh, f.attname) for f in OutboundMessage._meta.concrete_fields}


def test_the_row_is_stored_exactly_as_it_stands_in_memory(instance):
    row = new_message(
        instance,
        body="olá 👋 مرحبا",
        metadata={"order": 7, "nested": {"a": [1, 2]}},
        idempotency_key="k-1",
        priority=2,
    )
    row_insert.insert(row)
    assert not row._state.adding and row._state.db == "default"
    assert stored(row) == {
        f.attname: getattr(row, f.attname) for f in OutboundMessage._meta.concrete_fields
    }
    assert row.created_at is not None and row.updated_at is not None


def test_the_statement_is_compiled_once_not_per_row(instance):
    row_insert.insert(new_message(instance, 1))  # compiled here at the latest
    with mock.patch.object(SQLInsertCompiler, "as_sql", autospec=True) as as_sql:
        for n in range(2, 5):
            row_insert.insert(new_message(instance, n))
    assert as_sql.call_count == 0
    assert OutboundMessage.objects.count() == 4


@pytest.mark.parametrize("signal", [pre_save, post_save])
def test_a_project_listening_to_the_model_s_saves_still_hears_them(instance, signal):
    heard = []

    def listener(sender, instance, **kwargs):
        heard.append(instance.pk)

    signal.connect(listener, sender=OutboundMessage)
    try:
        message = api.send_text(phone(9), "heard", instance="main")
    finally:
        signal.disconnect(listener, sender=OutboundMessage)
    assert heard == [message.pk]


def test_an_expression_among_the_values_goes_through_save(instance):
    row = new_message(instance, 3)
    row.body = Value("from an expression")
    row_insert.insert(row)
    assert OutboundMessage.objects.get(pk=row.pk).body == "from an expression"


def test_a_row_without_a_key_gets_one_as_save_would_give(instance):
    row = new_message(instance, 4)
    row.pk = None
    row_insert.insert(row)
    assert isinstance(row.pk, uuid.UUID) and OutboundMessage.objects.filter(pk=row.pk).exists()


def test_a_unique_key_taken_raises_and_leaves_the_transaction_usable(instance):
    row_insert.insert(new_message(instance, 5, idempotency_key="same"))
    with pytest.raises(IntegrityError), transaction.atomic():
        row_insert.insert(new_message(instance, 6, idempotency_key="same"))
    assert OutboundMessage.objects.filter(idempotency_key="same").count() == 1
