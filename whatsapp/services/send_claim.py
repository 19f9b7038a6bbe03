"""The send's claim: dispatched + its token → sending, with an attempt row, before the call.

Most sends are texts with no file, no quoted message of ours and no expiry passed: those are
claimed in one statement (`_claim_plain`), which moves the row, counts and inserts the attempt and
reads the row with its instance. Anything else (a file, a reply, an expired message, a token
that no longer matches) goes the general way (`_claim_general`), which decides case by case.
The change of status is announced to `transitions`' listeners in the same transaction either way,
except where no listener may write rows for it: the one statement then commits alone.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from django.db import connection, models, transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from whatsapp import liveness
from whatsapp.metrics import hooks
from whatsapp.models import Instance, MessageAttempt, OutboundMessage
from whatsapp.models.message import AttemptOutcome, MessageStatus
from whatsapp.services import hot_move, outgoing, transitions

# Above the messages queue's 60 s hard time limit: past it, the send task is surely dead.
SEND_LEASE = timedelta(seconds=90)
FINISH_FIELDS = ["finished_at", "outcome", "http_status", "duration_ms", "error"]


@dataclass
class Claimed:
    message: OutboundMessage
    attempt: MessageAttempt
    token: uuid.UUID
    started: float = 0.0

    def finish(self, outcome: str, error: str = "", http_status: int | None = None) -> None:
        """Record the attempt's end."""
        self.ended(outcome, error, http_status)
        self.attempt.save(update_fields=FINISH_FIELDS)

    def ended(self, outcome: str, error: str = "", http_status: int | None = None) -> None:
        """The attempt's end on the object (and in the metrics), for the caller to write."""
        attempt = self.attempt
        attempt.finished_at = timezone.now()
        attempt.outcome = outcome
        attempt.http_status = http_status
        attempt.duration_ms = int((time.monotonic() - self.started) * 1000)
        attempt.error = error[:1000]
        hooks.send_attempt(self.message.instance.slug, outcome)

    def move(self, to: str, **fields: Any) -> bool:
        """sending (with this claim's token) → `to`."""
        return transitions.move(
            self.message.pk,
            frm=MessageStatus.SENDING,
            to=to,
            token=self.token,
            lease_expires_at=None,
            **fields,
        )


def finish_update(attempt: MessageAttempt) -> tuple[str, list[Any]]:
    """The attempt's end as one UPDATE, for a statement that also moves its message
    (services/hot_move.py). It gives the same result when run twice."""
    table = MessageAttempt._meta.db_table
    columns = ", ".join(f"{name} = %s" for name in FINISH_FIELDS)
    # Names from the model, values bound: nothing here comes from input.
    update = f"UPDATE {table} SET {columns} WHERE id = %s"  # noqa: S608
    return update, [*(getattr(attempt, name) for name in FINISH_FIELDS), attempt.pk]


class WaitsForQuote:
    """What `claim` answers for a reply whose quoted message is not sent yet: nothing claimed."""


def claim(message_id: uuid.UUID, token: uuid.UUID, now: datetime) -> Claimed | WaitsForQuote | None:
    """dispatched + this token → sending, or None: another delivery of the task got it first."""
    worker = liveness.start()
    if connection.vendor == "postgresql":
        claimed = _claim_plain(message_id, token, now, worker)
        if claimed is not None:
            return claimed
    return _claim_general(message_id, token, now, worker)


# --- The general way: one read, then a decision in Python.


def _claimable(message_id: uuid.UUID, token: uuid.UUID) -> OutboundMessage | None:
    """The dispatched row with its instance and its count of attempts, in one statement.

    Only the instance is joined: a file or a quoted message is read when the message has one.
    No ORDER BY: the primary key picks one row.
    """
    tries = (
        MessageAttempt.objects.filter(message=OuterRef("pk"))
        .order_by()
        .values("message")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rows = (
        OutboundMessage.objects.select_related("instance")
        .filter(pk=message_id, status=MessageStatus.DISPATCHED, dispatch_token=token)
        .annotate(tries=Coalesce(Subquery(tries), 0))
        .order_by()[:1]
    )
    return next(iter(rows), None)


def _claim_general(
    message_id: uuid.UUID, token: uuid.UUID, now: datetime, worker: str
) -> Claimed | WaitsForQuote | None:
    """Any message: the read that finds it also tells whether it must wait for the one it
    quotes or has expired, so a send makes one read of its row, not two."""
    with transaction.atomic():
        message = _claimable(message_id, token)
        if message is None:
            return None
        if outgoing.waits_for_quote(message):
            return WaitsForQuote()
        if message.expires_at is not None and message.expires_at <= now:
            transitions.move(
                message_id,
                frm=MessageStatus.DISPATCHED,
                to=MessageStatus.EXPIRED,
                token=token,
                lease_expires_at=None,
            )
            return None
        if not transitions.move(
            message_id,
            frm=MessageStatus.DISPATCHED,
            to=MessageStatus.SENDING,
            token=token,
            # A large file's send may run longer than a text's (services/outgoing.py).
            lease_expires_at=now + max(SEND_LEASE, outgoing.budget_of(message).lease),
        ):
            return None
        attempt = MessageAttempt.objects.create(
            message=message,
            instance_id=message.instance_id,
            number=cast(Any, message).tries + 1,  # annotated by _claimable
            started_at=now,
            outcome=AttemptOutcome.SENDING,
            worker=worker,
        )
    message.status = MessageStatus.SENDING
    return Claimed(message, attempt, token)


# --- The plain way: a text (or location, contact…) with nothing to look up, in one statement.

Converter = Callable[[Any, Any, Any], Any]
_LOADERS: dict[type[models.Model], tuple[list[str], list[tuple[Any, list[Converter]]]]] = {}


def _loader(model: type[models.Model]) -> tuple[list[str], list[tuple[Any, list[Converter]]]]:
    """The model's attribute names and, per column, the converters the ORM would apply to it
    (a JSON column arrives as text, for one), as its compiler collects them."""
    if model not in _LOADERS:
        columns = []
        for field in model._meta.concrete_fields:
            col = field.get_col(model._meta.db_table)
            converters = [
                *connection.ops.get_db_converters(col),
                *col.get_db_converters(connection),
            ]
            columns.append((col, converters))
        _LOADERS[model] = ([f.attname for f in model._meta.concrete_fields], columns)
    return _LOADERS[model]


def _load(model: type[models.Model], values: tuple[Any, ...] | list[Any]) -> Any:
    names, columns = _loader(model)
    converted = []
    for value, (col, converters) in zip(values, columns, strict=True):
        for convert in converters:
            value = convert(value, col, connection)
        converted.append(value)
    return model.from_db(connection.alias, names, converted)


def _plain_sql() -> str:
    message, instance, attempt = (m._meta for m in (OutboundMessage, Instance, MessageAttempt))
    m_cols = ", ".join(f'moved."{f.column}"' for f in message.concrete_fields)
    # The model's columns, not `*`: a prepared statement's result must keep its shape when a
    # migration adds a column under a running worker.
    m_all = ", ".join(f'"{f.column}"' for f in message.concrete_fields)
    i_cols = ", ".join(f'i."{f.column}"' for f in instance.concrete_fields)
    # Names from the models, values bound: nothing here comes from input. The attempt's number
    # counts the earlier attempts as the statement's snapshot sees them, as `_claimable` does.
    return f"""
        WITH moved AS (
            UPDATE {message.db_table}
            SET status = %(to)s, updated_at = %(now)s, lease_expires_at = %(lease)s
            WHERE id = %(id)s AND status = %(frm)s AND dispatch_token = %(token)s
              AND media_id IS NULL AND reply_to_id IS NULL
              AND (expires_at IS NULL OR expires_at > %(now)s)
            RETURNING {m_all}
        ), tried AS (
            INSERT INTO {attempt.db_table}
                (message_id, instance_id, number, started_at, outcome, worker, error)
            SELECT moved.id, moved.instance_id,
                   (SELECT count(*) FROM {attempt.db_table} a WHERE a.message_id = moved.id) + 1,
                   %(now)s, %(outcome)s, %(worker)s, ''
            FROM moved
            RETURNING id, number
        )
        SELECT tried.id, tried.number, {m_cols}, {i_cols}
        FROM moved JOIN {instance.db_table} i ON i.id = moved.instance_id CROSS JOIN tried
    """  # noqa: S608


_PLAIN_SQL: list[str] = []


def _claim_plain(
    message_id: uuid.UUID, token: uuid.UUID, now: datetime, worker: str
) -> Claimed | None:
    """A message with no file, no reply to look up and no expiry passed, claimed in one
    statement; None for any other (the general way then decides)."""
    transitions.check(MessageStatus.DISPATCHED, MessageStatus.SENDING)
    if not _PLAIN_SQL:
        _PLAIN_SQL.append(_plain_sql())
    params: dict[str, Any] = {
        "to": MessageStatus.SENDING,
        "frm": MessageStatus.DISPATCHED,
        "now": now,
        # A message without a file has a text's budget (services/outgoing.py).
        "lease": now + max(SEND_LEASE, outgoing.budget(0).lease),
        "id": message_id,
        "token": token,
        "outcome": AttemptOutcome.SENDING,
        "worker": worker,
    }
    n_message = len(OutboundMessage._meta.concrete_fields)
    # One statement commits alone, as durably (autocommit): a transaction around it is needed
    # only for a listener that may write rows in it; without one, two round trips are saved.
    alone = not transitions.may_write(MessageStatus.SENDING) and connection.get_autocommit()
    with nullcontext() if alone else transaction.atomic():
        with hot_move.bound_cursor() as cursor:
            cursor.execute(_PLAIN_SQL[0], params)
            row = cursor.fetchone()
        if row is None:
            return None
        message = _load(OutboundMessage, row[2 : 2 + n_message])
        OutboundMessage.instance.field.set_cached_value(
            message, _load(Instance, row[2 + n_message :])
        )
        transitions.announce(message_id, MessageStatus.DISPATCHED, MessageStatus.SENDING)
    attempt = MessageAttempt(
        id=row[0],
        message_id=message_id,
        instance_id=message.instance_id,
        number=row[1],
        started_at=now,
        outcome=AttemptOutcome.SENDING,
        worker=worker,
    )
    attempt._state.adding = False
    attempt._state.db = connection.alias
    return Claimed(message, attempt, token)
