"""The send path's hand-written statements: their cursor, and the outcome's move.

Each send makes two statements on PostgreSQL, the claim (services/send_claim.py) and the
outcome (`move_in_one_call`). Both go through `bound_cursor`, which binds values on the server:
where the host lets psycopg prepare statements (`prepare_threshold` in the database's OPTIONS,
as the reference settings do), PostgreSQL plans each of them once per connection instead of
once per message. Django's default leaves preparing off, for connection poolers that do not
keep prepared statements; the statements are then planned each time, as before.

The outcome (the attempt's end and the message's move) is one statement. Where the caller holds
no transaction (an unpaced send in a worker), that statement is also the whole transaction, so
`BEGIN` and `COMMIT` cost no round trips of their own. That is only right while no listener
writes rows for the move, since those rows must commit with it: the statement itself asks the
listeners' conditions (`transitions.writes_only_if`) and moves the message only when none holds.
When one holds (a webhook endpoint is enabled), nothing moved, and the move is made again in a
transaction with its listeners. The process remembers the answer: while endpoints stay enabled
its next outcomes go to the transaction at once, and once one finds them all disabled, it tries
alone again.
"""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import Field
from django.utils import timezone

from whatsapp.models import OutboundMessage
from whatsapp.services import transitions

# Per condition (`transitions.quiet_when`): whether it last held. True keeps the outcomes in a
# transaction, where the listeners' hints say when it no longer holds.
_writers_seen: dict[str, bool] = {}


def bound_cursor() -> CursorWrapper:
    """A cursor of Django's connection that binds values on the server (psycopg 3), wrapped as
    Django wraps its own (query logging, execute wrappers, error translation). One statement
    per call."""
    try:
        from django.db.backends.postgresql.base import ServerBindingCursor
    except ImportError:  # psycopg 2: it binds on the client, and never prepares
        return connection.cursor()
    # What Django's `cursor()` does before it makes one.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    # Typed loosely by django-stubs: a psycopg cursor over the open connection.
    raw: Any = cast(Any, ServerBindingCursor)(connection.connection)
    if connection.queries_logged:
        return connection.make_debug_cursor(raw)
    return connection.make_cursor(raw)


def _assignments(
    to: str, values: dict[str, Any], increment: tuple[str, ...]
) -> tuple[list[str], list[Any]]:
    meta = OutboundMessage._meta
    fields = {"status": to, "updated_at": timezone.now(), **values}
    sets, params = [], []
    for name, value in fields.items():
        field = cast(Field, meta.get_field(name))
        sets.append(f'"{field.column}" = %s')
        params.append(field.get_db_prep_save(value, connection))
    for name in increment:
        column = cast(Field, meta.get_field(name)).column
        sets.append(f'"{column}" = "{column}" + 1')
    return sets, params


def move_in_one_call(
    message_id: UUID,
    *,
    frm: str,
    to: str,
    values: dict[str, Any],
    increment: tuple[str, ...] = (),
    also: tuple[str, list[Any]] = ("", []),
    returning: tuple[str, list[Any]] = ("", []),
    lazy: bool = False,
) -> tuple[Any, ...] | None:
    """`frm` → `to` for one message, any token, in one statement, on PostgreSQL.

    `also` (a data-modifying statement, such as the attempt's end, that gives the same result
    when run twice) runs in the same statement, `increment` names counters raised by one, and
    `returning` is an expression evaluated with the statement's snapshot. `lazy`: the commit
    does not wait for the disk. The listeners hear about the change as from `move`. Returns the
    row of `returning` (an empty tuple without it), or None when the message had another status.
    """
    transitions.check(frm, to)
    quiet = transitions.quiet_when(to)
    if quiet is not None and connection.get_autocommit() and not _writers_seen.get(quiet[1]):
        row = _execute(message_id, frm, to, values, increment, also, returning, lazy, quiet)
        if not row[0]:
            # A listener would have written rows: nothing moved, and it is made again below.
            _writers_seen[quiet[1]] = True
        elif row[-1] is None:
            return None
        else:
            # Committed: the listeners hear it after the commit, as after `move`'s transaction.
            transitions.announce(message_id, frm, to, dict.fromkeys(quiet[0], False))
            return tuple(row[-1])
    with transaction.atomic(savepoint=False):
        row = _execute(message_id, frm, to, values, increment, also, returning, lazy, None)
        if row[-1] is None:
            return None
        hints = dict(zip([listener for listener, _sql in row[1]], row[2], strict=True))
        transitions.announce(message_id, frm, to, hints)
    if quiet is not None:
        _writers_seen[quiet[1]] = any(hints.get(writer) for writer in quiet[0])
    return tuple(row[-1])


def _execute(
    message_id: UUID,
    frm: str,
    to: str,
    values: dict[str, Any],
    increment: tuple[str, ...],
    also: tuple[str, list[Any]],
    returning: tuple[str, list[Any]],
    lazy: bool,
    quiet: tuple[list[transitions.Listener], str] | None,
) -> tuple[Any, list[tuple[transitions.Listener, str]], list[Any], list[Any] | None]:
    """The statement: (whether the gate `quiet` held, the listeners asked, their conditions'
    values, the returned values or None when nothing moved)."""
    sets, params = _assignments(to, values, increment)
    asked = transitions.conditions()
    extra, extra_params = returning
    also_sql, also_params = also
    # One row whatever happens: the gate, the conditions and the setting first, then the moved
    # row's values, NULL when nothing moved. A data-modifying WITH runs whether read or not.
    # Names from the model, values bound: nothing here comes from input.
    columns = [f"{quiet[1] if quiet else 'TRUE'} AS quiet"]
    columns += [f"({sql}) AS c{n}" for n, (_listener, sql) in enumerate(asked)]
    if lazy:
        # SET LOCAL as a function: the commit after this statement does not wait for the disk.
        columns.append("set_config('synchronous_commit', 'off', true) AS lazy")
    gate = " AND (SELECT quiet FROM asked)" if quiet else ""
    table = OutboundMessage._meta.db_table
    update = f"UPDATE {table} SET {', '.join(sets)} WHERE id = %s AND status = %s{gate}"  # noqa: S608
    sql = "".join(
        [
            f"WITH asked AS (SELECT {', '.join(columns)})",
            f", also AS ({also_sql})" if also_sql else "",
            f", moved AS ({update} RETURNING 1 AS one{f', {extra} AS extra' if extra else ''})",
            " SELECT asked.*, moved.* FROM asked LEFT JOIN moved ON TRUE",
        ]
    )
    with bound_cursor() as cursor:
        cursor.execute(sql, [*also_params, *params, message_id, frm, *extra_params])
        row = cursor.fetchone()
    assert row is not None  # the LEFT JOIN's one row
    moved_at = 1 + len(asked) + (1 if lazy else 0)
    moved = None if row[moved_at] is None else list(row[moved_at + 1 :])
    return row[0], asked, list(row[1 : 1 + len(asked)]), moved
