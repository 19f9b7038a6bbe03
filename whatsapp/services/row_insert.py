"""One new row inserted with Django's own INSERT statement, compiled once instead of per row.

`Model.save()` builds its INSERT again for every row: the column list, a placeholder per field,
the compiler's checks of each value for expressions and special placeholders. For a message's
forty columns that was a tenth of a REST enqueue's time (docs/benchmarks.md, "What limits the
figures"). Here the first row's statement comes from Django's compiler and is kept per model and
database; every row's values still come from each field's `pre_save()` and `get_db_prep_save()`,
as `save()` takes them.

`save()` itself runs instead whenever this could differ from it: something listens to the model's
`pre_save` or `post_save` (a project may), a value is an expression, a field makes its own
placeholder, the database returns columns on insert, or the model has parents.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import connections, router
from django.db.models import Field, Model, signals
from django.db.models.sql import InsertQuery

# (model, database alias) → its INSERT statement, columns in `_plain_fields` order.
_statements: dict[tuple[type[Model], str], str] = {}


def insert(row: Model) -> None:
    """`row.save(force_insert=True)`, without rebuilding the statement when that is the same."""
    model = type(row)
    using = router.db_for_write(model, instance=row)
    fields = _plain_fields(model)
    if fields is None or _heard(model):
        row.save(force_insert=True, using=using)
        return
    row._prepare_related_fields_for_save(operation_name="save")  # type: ignore[attr-defined]
    if row.pk is None:
        row.pk = model._meta.pk.get_pk_value_on_save(row)  # as save() does
    connection = connections[using]
    values = [field.pre_save(row, True) for field in fields]
    if any(hasattr(value, "resolve_expression") for value in values):
        row.save(force_insert=True, using=using)
        return
    sql = _statements.get((model, using))
    if sql is None:
        sql = _statements.setdefault((model, using), _compiled(model, fields, using))
    pairs = zip(fields, values, strict=True)
    params = [field.get_db_prep_save(value, connection) for field, value in pairs]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    row._state.adding = False
    row._state.db = using


def _heard(model: type[Model]) -> bool:
    return signals.pre_save.has_listeners(model) or signals.post_save.has_listeners(model)


@functools.cache
def _plain_fields(model: type[Model]) -> list[Field[Any, Any]] | None:
    """The fields `save()` would insert, or None when the model is not one this may insert."""
    meta = model._meta
    if meta.parents or meta.db_returning_fields or meta.auto_field is not None:
        return None
    fields = [field for field in meta.local_concrete_fields if not field.generated]
    if any(hasattr(field, "get_placeholder") for field in fields):
        return None
    return fields


def _compiled(model: type[Model], fields: list[Field[Any, Any]], using: str) -> str:
    """Django's INSERT for one row of these fields. Compiled for a blank row, whose values (and
    whose `pre_save()` timestamps) are thrown away: with no expression among the values and no
    field making its own placeholder, the statement is the same for every row."""
    query = InsertQuery(model)
    query.insert_values(fields, [model()])
    [(sql, _params)] = query.get_compiler(using=using).as_sql()
    return sql
