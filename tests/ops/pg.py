"""Fresh PostgreSQL databases of their own for the operations tests (crash, backup),
created and dropped the way tests/conftest.py does it."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from tests.conftest import PG_REQUIRED, PG_URL, _pg_admin_url, _pg_reachable


def require_postgresql() -> None:
    problem = _pg_reachable()
    if problem:
        if PG_REQUIRED:
            pytest.fail(f"PostgreSQL is required but not reachable at {PG_URL}: {problem}")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL} (set LEDGER_TEST_DATABASE_URL)")


def admin_engine() -> sa.Engine:
    return sa.create_engine(
        _pg_admin_url(), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
    )


@contextmanager
def fresh_database(prefix: str) -> Iterator[sa.URL]:
    """An empty database (no schema), dropped afterwards; yields its URL."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    admin = admin_engine()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield _pg_admin_url().set(database=name)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def plain_url(url: sa.URL) -> str:
    """The URL as libpq tools (pg_dump, psql) and the app's settings read it."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)
