"""Test fixtures: every database test runs on SQLite and on PostgreSQL.

The schema is built once per backend by running the Alembic migrations into a
fresh database; each test starts from empty tables (truncated after the test), so
tests exercise real commits, real locks and real triggers.

PostgreSQL comes from ``LEDGER_TEST_DATABASE_URL`` (default
``postgresql://127.0.0.1:5432/``); a database of our own is created and dropped.
Unreachable, it is skipped, unless ``LEDGER_TEST_REQUIRE_POSTGRES=1`` or
``CI=true``, where that is a failure.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session

from ledger import create_app
from ledger.audit.models import GENESIS_HASH
from ledger.db import Base
from ledger.migrations import upgrade

PG_URL = os.environ.get("LEDGER_TEST_DATABASE_URL", "postgresql://127.0.0.1:5432/")
PG_REQUIRED = (
    os.environ.get("LEDGER_TEST_REQUIRE_POSTGRES") == "1"
    or os.environ.get("CI", "").lower() == "true"
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        pg_only = metafunc.definition.get_closest_marker("postgresql_only")
        backends = ["postgresql"] if pg_only else ["sqlite", "postgresql"]
        metafunc.parametrize("backend", backends, scope="session")


def _pg_admin_url() -> sa.URL:
    url = sa.make_url(PG_URL).set(drivername="postgresql+psycopg")
    return url.set(database=url.database or "postgres")


def _pg_reachable() -> str | None:
    try:
        engine = sa.create_engine(_pg_admin_url(), poolclass=sa.pool.NullPool)
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:  # any failure to connect means "not reachable"
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    return None


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database for the backend, migrated to head by Alembic."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'ledger.sqlite3'}"
        upgrade(url)
        yield url
        return
    problem = _pg_reachable()
    if problem:
        if PG_REQUIRED:
            pytest.fail(f"PostgreSQL is required but not reachable at {PG_URL}: {problem}")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL} (set LEDGER_TEST_DATABASE_URL)")
    name = f"ledger_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = sa.create_engine(
        _pg_admin_url(), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = _pg_admin_url().set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def _app(database_url: str) -> Iterator[Flask]:
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "DB_POOL_SIZE": 20})
    yield app
    app.extensions["ledger.db"].engine.dispose()


def _empty_tables(app: Flask) -> None:
    engine: sa.Engine = app.extensions["ledger.db"].engine
    tables = [t.name for t in Base.metadata.sorted_tables if t.name != "audit_chain_head"]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # As the owner, with triggers off: the append-only tables refuse TRUNCATE
            # otherwise, which is the point of them.
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            conn.exec_driver_sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        else:
            for table in reversed(tables):
                conn.exec_driver_sql(f"DELETE FROM {table}")
        conn.execute(
            sa.text("UPDATE audit_chain_head SET seq = 0, hash = :h WHERE id = 1"),
            {"h": GENESIS_HASH},
        )


@pytest.fixture
def app(_app: Flask) -> Iterator[Flask]:
    """The application on the backend under test, its tables empty."""
    yield _app
    _empty_tables(_app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client for the app."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """A runner for the app's CLI commands."""
    return app.test_cli_runner()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A session on the test database, for reading state and arranging it directly.

    No app context is kept pushed: requests made meanwhile must each get their own
    (and so their own ``g`` and database session), as they do in production."""
    s: Session = app.extensions["ledger.db"].sessionmaker()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def ledger(app: Flask, client: FlaskClient) -> Any:
    """A factory that drives the API as the fund's staff would (see factories.py)."""
    from tests.factories import LedgerDriver

    return LedgerDriver(app, client)
