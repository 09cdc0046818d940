"""Test fixtures: every database test runs on SQLite and on PostgreSQL.

The schema is built once per backend by running the Alembic migrations into a
fresh database. Then, as Warehouse does, each test's database work runs inside one
transaction on one connection, rolled back at the end: every session the app makes
(a request's, the CLI's ``db.transaction()``, the ``session`` fixture's) joins it
with ``join_transaction_mode="create_savepoint"``, so a request's commit releases
a savepoint and the rollback leaves the tables as they were, the audit chain's
head at genesis. The triggers, constraints and the audit hook run as they do in
production; only the final COMMIT is never sent.

A test that needs real commits (several threads, processes or connections: races,
row locks, crashes, gunicorn, a second engine or role) carries
``@pytest.mark.real_commits``: its sessions use the engine as in production, and the
tables are emptied after it (truncated on PostgreSQL). ``-m "not real_commits"``
leaves those out for a quick run.

PostgreSQL comes from ``LEDGER_TEST_DATABASE_URL`` (default
``postgresql://127.0.0.1:5432/``); a database of our own is created and dropped.
Unreachable, it is skipped, unless ``LEDGER_TEST_REQUIRE_POSTGRES=1`` or
``CI=true``, where that is a failure.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session

from ledger import create_app
from ledger.audit.models import GENESIS_HASH
from ledger.db import Base, sqlite_begin
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
def _app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            # Documents' files: never under the tree's instance/ (tests/documents
            # give each test a directory of its own).
            "DOCUMENTS_DIR": str(tmp_path_factory.mktemp("documents")),
            "DATABASE_URL": database_url,
            "DB_POOL_SIZE": 20,
            "SECRET_KEY": "tests-only-secret-key",
            # A job runs in the thread that commits it, right after the commit:
            # inside the test's transaction (tests/jobs run real workers).
            "JOBS_INLINE": True,
            # Webhooks go to this machine only: a test (the fuzzer too) that makes
            # one for another host is refused, so nothing is ever sent elsewhere.
            "WEBHOOK_ALLOWED_HOSTS": ("127.0.0.1", "localhost"),
        }
    )
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


# Every sequence of the schema back to 1. ``setval`` is not undone by a rollback,
# which is what is wanted: the rolled-back test leaves the tables empty, so the next
# one numbers its rows from 1, as after today's TRUNCATE … RESTART IDENTITY (and as
# SQLite does by itself, its next id being the largest one present plus one).
_RESTART_SEQUENCES = sa.text(
    "SELECT count(setval(c.oid, 1, false)) FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind = 'S' AND n.nspname = current_schema()"
)


class RolledBack:
    """One connection and one transaction around a test, rolled back at its end.

    The app's sessionmaker is bound to the connection meanwhile, each session
    joining the transaction with a SAVEPOINT of its own (its commit releases the
    savepoint, its rollback rolls back to it); ``end()`` puts the sessionmaker
    back as it was. Only the thread that began the test may use the connection:
    another thread would interleave its statements with the test's on one
    connection, so it is refused, loudly (mark such a test ``real_commits``)."""

    def __init__(self, app: Flask) -> None:
        self.state = app.extensions["ledger.db"]
        self.connection = self.state.engine.connect()
        self.owner = threading.get_ident()
        sa.event.listen(self.connection, "before_cursor_execute", self._same_thread)
        try:
            self._begin()
        except BaseException:
            self.connection.close()
            raise
        self.kept = dict(self.state.sessionmaker.kw)
        # The same sessionmaker, so that the audit hook (ledger.audit.services.install)
        # and anything else create_app put on it stays on.
        self.state.sessionmaker.configure(
            bind=self.connection, join_transaction_mode="create_savepoint"
        )

    def _same_thread(self, *_args: Any) -> None:
        if threading.get_ident() != self.owner:
            raise RuntimeError(
                "the database was used from a second thread inside a test's rolled-back "
                "transaction: mark the test @pytest.mark.real_commits"
            )

    def _begin(self) -> None:
        # SQLite: the outer transaction takes the write lock at once (BEGIN IMMEDIATE),
        # whatever a previous request left in the contextvar; the sessions inside only
        # set savepoints, and db.py's "begin" listener is not called for those.
        token = sqlite_begin.set("BEGIN IMMEDIATE")
        try:
            self.transaction = self.connection.begin()
        finally:
            sqlite_begin.reset(token)
        if self.connection.dialect.name == "postgresql":
            self.connection.execute(_RESTART_SEQUENCES)

    def restart(self) -> None:
        """Roll back everything so far and begin again: empty tables, mid-test."""
        self.transaction.rollback()
        self._begin()

    def end(self) -> None:
        self.state.sessionmaker.kw = self.kept
        try:
            self.transaction.rollback()
        finally:
            self.connection.close()


_rolled_back: dict[Flask, RolledBack] = {}


@pytest.fixture
def app(_app: Flask, request: pytest.FixtureRequest) -> Iterator[Flask]:
    """The application on the backend under test, its tables empty: inside a
    transaction rolled back after the test, or, for a test marked ``real_commits``,
    committing for real, the tables emptied after it."""
    if request.node.get_closest_marker("real_commits"):
        yield _app
        _empty_tables(_app)
        return
    _rolled_back[_app] = RolledBack(_app)
    try:
        yield _app
    finally:
        _rolled_back.pop(_app).end()


@pytest.fixture
def empty_tables(app: Flask) -> Callable[[], None]:
    """Empty every table now, mid-test (each example of a property-based test
    starts afresh): the test's transaction is rolled back and begun again, or, under
    ``real_commits``, the tables are emptied."""

    def empty() -> None:
        if app in _rolled_back:
            _rolled_back[app].restart()
        else:
            _empty_tables(app)

    return empty


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
    (and so their own ``g`` and database session), as they do in production.
    Inside the test's transaction it works in a savepoint, as they do: its
    ``commit()`` releases it, its ``rollback()`` rolls back to it (and so undoes any
    request made since it began: end a read with ``rollback()`` before the next
    request, as the tests already do for SQLite's single writer)."""
    s: Session = app.extensions["ledger.db"].sessionmaker()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def ledger(app: Flask, client: FlaskClient) -> Any:
    """A factory that drives the API as the fund's staff would (see factories.py)."""
    from tests.factories import LedgerDriver

    driver = LedgerDriver(app, client)
    yield driver
    driver.now()
