"""Every status change of an outbound message, and the one hook that hears about each.

A change is a conditional update on the status the caller expects (and, where a worker holds
the message, its dispatch token), so two processes can never both move a message, and a status
only follows the arrows of `ALLOWED`. Listeners registered with `on_change` are called inside
the same transaction, once for each message that really changed, with
`(message_id, old_status, new_status)`: bulk changes (expiry, sweeps) call them per message, and
an update that matched nothing calls nothing. Code that must hear about a change (outgoing
webhooks, metrics) registers here; nothing else updates `OutboundMessage.status`, with two
exceptions on the send path, each one statement: the claim of a plain message
(services/send_claim.py), which also inserts the attempt, and the success's outcome
(services/hot_move.py), which also ends it. Both check the arrow (`check`) and call the
listeners (`announce`) here as `move` would. Such a statement runs alone, without a transaction
around it and its listeners, when no listener may write rows for the move (`writes_only_for`,
`may_write`), or when those that may have said when they would (`writes_only_if`) and the
statement finds that they would not: its listeners are then called right after it committed.

`NEEDS_REVIEW` is announced the same way when an unknown send is flagged for a person, though
the stored status stays `unknown`: it is a change of what the message needs, once per flag.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from whatsapp.models import OutboundMessage
from whatsapp.models.message import MessageStatus as S

logger = logging.getLogger(__name__)

# The arrows a message may follow. Receipts only move forward (sent < delivered < read); a
# message goes back to `queued` only when a retry is proven safe or a person asks for it.
ALLOWED: dict[str, frozenset[str]] = {
    # queued → failed: the file it waited for (a media_url) could not be fetched.
    S.QUEUED: frozenset({S.DISPATCHED, S.EXPIRED, S.CANCELLED, S.FAILED}),
    S.DISPATCHED: frozenset({S.SENDING, S.QUEUED, S.CANCELLED, S.EXPIRED}),
    S.SENDING: frozenset({S.SENT, S.DELIVERED, S.READ, S.QUEUED, S.FAILED, S.UNKNOWN}),
    S.UNKNOWN: frozenset({S.SENT, S.DELIVERED, S.READ, S.QUEUED, S.FAILED}),
    # sent → failed: WhatsApp refused it after the gateway accepted it (an ack of -1).
    S.SENT: frozenset({S.DELIVERED, S.READ, S.UNDELIVERED, S.FAILED}),
    # A receipt may come long after WHATSAPP_UNDELIVERED_AFTER (a phone off for days).
    S.UNDELIVERED: frozenset({S.DELIVERED, S.READ, S.FAILED}),
    S.DELIVERED: frozenset({S.READ}),
    S.READ: frozenset(),
    S.FAILED: frozenset({S.QUEUED}),
    S.EXPIRED: frozenset({S.QUEUED}),
    S.CANCELLED: frozenset({S.QUEUED}),
}

NEEDS_REVIEW = "needs_review"
BULK_BATCH = 1000

Listener = Callable[[UUID, str, str], None]
_listeners: list[Listener] = []


class ANY_TOKEN:  # a sentinel: "do not check the dispatch token"
    pass


def on_change(listener: Listener) -> Listener:
    """Register `listener(message_id, old_status, new_status)`; usable as a decorator."""
    _listeners.append(listener)
    return listener


def remove_listener(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)
    _writes_for.pop(listener, None)
    _conditions.pop(listener, None)


# The statuses a listener may write rows for, when it said so (`writes_only_for`); a listener
# that did not may write for any.
_writes_for: dict[Listener, frozenset[str]] = {}


def writes_only_for(listener: Listener, statuses: Iterable[str]) -> None:
    """Declare that `listener` writes rows only when a message moves to one of `statuses`."""
    _writes_for[listener] = frozenset(statuses)


def may_write(new: str) -> bool:
    """Whether a listener may write rows for a move to `new`. When none may, a move that is one
    statement needs no transaction around it and its listeners: the statement commits alone."""
    return any(new in _writes_for.get(listener, frozenset({new})) for listener in _listeners)


# A listener's condition for writing rows, asked inside a hand-written move's own statement
# (whatsapp/services/hot_move.py) and passed to it as `hint`, to spare it a query of its own.
_conditions: dict[Listener, str] = {}


def writes_only_if(listener: Listener, sql: str) -> None:
    """Declare that `listener` writes rows only when `sql` (an SQL expression, no parameters) is
    true. Where a move is one hand-written statement, its value reaches the listener as the
    keyword `hint`; and while it is false for every listener that may write, the statement needs
    no transaction around it."""
    _conditions[listener] = sql


def conditions() -> list[tuple[Listener, str]]:
    """The registered listeners' write conditions (`writes_only_if`), in a stable order."""
    return [(listener, sql) for listener, sql in _conditions.items() if listener in _listeners]


def quiet_when(new: str) -> tuple[list[Listener], str] | None:
    """The listeners that may write rows for a move to `new`, and an SQL condition under which
    none of them does; None when one of them may write whatever the database holds."""
    writers = [w for w in _listeners if new in _writes_for.get(w, frozenset({new}))]
    if any(writer not in _conditions for writer in writers):
        return None
    if not writers:
        return [], "TRUE"
    return writers, "NOT (" + " OR ".join(f"({_conditions[w]})" for w in writers) + ")"


def announce(
    message_id: UUID, old: str, new: str, hints: dict[Listener, Any] | None = None
) -> None:
    """Call the listeners; they run in the caller's transaction and may write rows."""
    for listener in list(_listeners):
        if hints and listener in hints:
            cast(Any, listener)(message_id, old, new, hint=hints[listener])
        else:
            listener(message_id, old, new)


def _sources(frm: str | Iterable[str], to: str) -> list[str]:
    sources = [frm] if isinstance(frm, str) else list(frm)
    wrong = [s for s in sources if to not in ALLOWED[s]]
    if wrong:
        raise ValueError(f"a message cannot go from {wrong} to {to}")
    return sources


def check(frm: str | Iterable[str], to: str) -> None:
    """Raise ValueError unless every status of `frm` may go to `to`: for a writer that moves a
    message in its own statement (the send's claim, services/send_claim.py) and then calls
    `announce` as `move` does."""
    _sources(frm, to)


def move(
    message_id: UUID,
    *,
    frm: str | Iterable[str],
    to: str,
    token: UUID | type[ANY_TOKEN] | None = ANY_TOKEN,
    where: Q | None = None,
    **fields: Any,
) -> bool:
    """`frm` → `to` for one message when its status (and token, and `where`) are as expected.

    True when it moved.
    """
    sources = _sources(frm, to)
    matching = OutboundMessage.objects.filter(pk=message_id, status__in=sources)
    if where is not None:
        matching = matching.filter(where)
    if token is not ANY_TOKEN:
        matching = matching.filter(dispatch_token=cast("UUID | None", token))
    values = {"status": to, "updated_at": timezone.now(), **fields}
    # No savepoint: inside the caller's transaction a change and its listeners stand or fall
    # with it, and the send path saves two round trips per message.
    with transaction.atomic(savepoint=False):
        if len(sources) == 1:
            old: str | None = sources[0]
            moved = matching.update(**values) == 1
        else:
            # Lock first to learn which of the expected statuses it had.
            old = matching.select_for_update().values_list("status", flat=True).first()
            moved = old is not None and matching.filter(status=old).update(**values) == 1
        if moved and old is not None:
            announce(message_id, old, to)
    return moved


def move_many(
    where: Q, *, frm: str | Iterable[str], to: str, skip_locked: bool = True, **fields: Any
) -> list[UUID]:
    """Every message matching `where` with an expected status → `to`; returns the ids moved.

    Rows another transaction holds are skipped (a sweep or the next tick takes them), so a bulk
    change never waits behind a worker.
    """
    sources = _sources(frm, to)
    moved: list[UUID] = []
    while True:
        with transaction.atomic(savepoint=False):
            rows = list(
                OutboundMessage.objects.select_for_update(skip_locked=skip_locked)
                .filter(where, status__in=sources)
                .order_by()
                .values_list("pk", "status")[:BULK_BATCH]
            )
            by_status: dict[str, list[UUID]] = {}
            for pk, status in rows:
                by_status.setdefault(status, []).append(pk)
            values = {"status": to, "updated_at": timezone.now(), **fields}
            for old, ids in by_status.items():
                # The rows are locked by this transaction: the update takes every one of them.
                OutboundMessage.objects.filter(pk__in=ids, status=old).update(**values)
                for pk in ids:
                    announce(pk, old, to)
            moved.extend(pk for pk, _status in rows)
        if len(rows) < BULK_BATCH:
            return moved


def flag_for_review(where: Q, now: datetime) -> list[UUID]:
    """Unknown messages matching `where`, not yet flagged → flagged; announced once each."""
    flagged: list[UUID] = []
    with transaction.atomic(savepoint=False):
        ids = list(
            OutboundMessage.objects.select_for_update(skip_locked=True)
            .filter(where, status=S.UNKNOWN, needs_review_since__isnull=True)
            .order_by()
            .values_list("pk", flat=True)[:BULK_BATCH]
        )
        if ids:
            OutboundMessage.objects.filter(pk__in=ids).update(
                needs_review_since=now, updated_at=now
            )
        for pk in ids:
            announce(pk, S.UNKNOWN, NEEDS_REVIEW)
            flagged.append(pk)
    return flagged
