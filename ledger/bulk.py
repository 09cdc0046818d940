"""Inserting many rows at once: a batch of 100,000 households registers as many
payees and writes as many batch rows and payment records.

On PostgreSQL the rows go in with ``COPY … FROM STDIN`` on the session's own
connection (inside its transaction: a rollback takes them back), and new ids are
drawn from the table's sequence first, so the caller knows which row got which
id without relying on the order of ``RETURNING``. Elsewhere (SQLite) an
``executemany`` of one ``INSERT`` is already fast. Row triggers fire either way,
so append-only tables stay append-only.

``COPY`` is the one place that goes to the driver (psycopg) directly: 100,000
journal lines took 1.31 s by ``COPY`` against 2.48 s by SQLAlchemy's
``executemany`` of one ``INSERT``, side by side in one run on the 2-core
development machine (2026-12-04): worth it for batches, nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from psycopg.types.json import Json, Jsonb
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import QueryableAttribute, Session

from ledger.db import Base

T = TypeVar("T")

__all__ = ["IN_CHUNK", "among", "chunks", "insert_many", "insert_many_returning_ids"]

#: Values per IN (...) or array parameter in one query: SQLite allows 32,766
#: parameters in a statement.
IN_CHUNK = 5000


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _copy(session: Session, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    dialect = session.get_bind().dialect
    columns = list(rows[0])
    # How each value is sent: JSON wrapped for psycopg, the column type's own
    # bind processing (UTC timestamps, exact decimals), or as it is.
    convert: list[Callable[[Any], Any] | None] = []
    for name in columns:
        column_type = table.c[name].type
        if isinstance(column_type, sa.JSON):
            impl = column_type.dialect_impl(dialect)
            convert.append(Jsonb if isinstance(impl, postgresql.JSONB) else Json)
        else:
            convert.append(column_type.bind_processor(dialect))
    quoted = ", ".join(f'"{name}"' for name in columns)
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(
                [
                    value if c is None or value is None else c(value)
                    for c, value in zip(convert, (row[name] for name in columns), strict=True)
                ]
            )


def chunks(values: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    """``values`` in slices of at most ``size``, for one `among` each."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def among(
    session: Session,
    column: sa.ColumnElement[Any] | QueryableAttribute[Any],
    values: Sequence[Any],
) -> sa.ColumnElement[bool]:
    """``column IN (values)`` for thousands of values. On PostgreSQL the values
    go as one array parameter (``column = ANY(%s)``): psycopg rewrites a query's
    placeholders in Python, and 5,000 of them cost more than the query itself."""
    expression = column.expression if isinstance(column, QueryableAttribute) else column
    if _is_postgresql(session):
        return expression == sa.any_(
            sa.bindparam(None, list(values), type_=postgresql.ARRAY(expression.type))
        )
    return expression.in_(values)


def _table(model: type[Base], rows: Sequence[Mapping[str, Any]]) -> sa.Table:
    """The model's table, once ``rows`` (not empty) are known to fill it on
    every database alike."""
    table = sa.inspect(model).local_table
    assert isinstance(table, sa.Table)
    missing = [c.name for c in table.c if c.default is not None and c.name not in rows[0]]
    if missing:  # COPY knows nothing of the model's Python-side defaults
        raise ValueError(f"insert_many into {table.name}: give {', '.join(missing)}")
    return table


def insert_many(session: Session, model: type[Base], rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys, one per column to fill; a
    column with a Python-side default must be given) into ``model``'s table in
    the session's transaction. The ORM's identity map does not learn of them."""
    if not rows:
        return
    table = _table(model, rows)
    session.flush()  # what the unit of work holds goes first, in order
    if _is_postgresql(session):
        _copy(session, table, rows)
    else:
        session.execute(sa.insert(table), list(rows))


def insert_many_returning_ids(
    session: Session, model: type[Base], rows: Sequence[Mapping[str, Any]]
) -> list[int]:
    """`insert_many`, and the new ids, in the order of ``rows``."""
    if not rows:
        return []
    table = _table(model, rows)
    if not _is_postgresql(session):
        session.flush()
        statement = sa.insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(session.scalars(statement, list(rows)).all())
    ids = list(
        session.scalars(
            sa.text(
                "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
            ),
            {"table": table.name, "n": len(rows)},
        )
    )
    insert_many(session, model, [{"id": i, **row} for i, row in zip(ids, rows, strict=True)])
    return ids
