"""The database: declarative base, column types, engine and one session per request.

The session's lifecycle is kept outside the functions that work on data: services
receive a ``Session``, add and flush; only the request boundary (``Database``'s
``commit_or_rollback`` around each view) or a CLI command commits.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import functools
import re
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, TypeVar

import sqlalchemy as sa
from flask import Flask, current_app, g
from sqlalchemy import event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite keeps no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: ledger timestamps are always UTC-aware")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        moment: dt.datetime = value
        if moment.tzinfo is None:
            return moment.replace(tzinfo=dt.UTC)
        return moment.astimezone(dt.UTC)


class ExactDecimal(TypeDecorator[Decimal]):
    """A Decimal kept as its exact text: exchange rates must survive every backend
    unchanged (SQLite has no exact decimal type; a rate is never summed in SQL)."""

    impl = sa.String(40)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        return None if value is None else format(value, "f")

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Reusable column types. Money is an integer count of the currency's minor unit.
intpk = Annotated[int, mapped_column(BigId, primary_key=True, autoincrement=True)]
MinorUnits = Annotated[int, mapped_column(sa.BigInteger)]
CurrencyCode = Annotated[str, mapped_column(sa.String(3))]
Rate = Annotated[Decimal, mapped_column(ExactDecimal)]
Timestamp = Annotated[dt.datetime, mapped_column(UTCDateTime)]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        dict[str, Any]: sa.JSON(),
        list[Any]: sa.JSON(),
        str: sa.String(),
        dt.datetime: UTCDateTime(),
        dt.date: sa.Date(),
        Decimal: ExactDecimal(),
    }


T = TypeVar("T")


def lock_row(session: Session, model: type[T], id_: int) -> T:
    """The row of ``model`` with this id, locked for the rest of the transaction
    (``SELECT … FOR UPDATE OF`` its own table only: joined eager loads are outer
    joins, which cannot be locked), and re-read so that it is current; or a 404.
    On SQLite the transaction already holds the write lock (BEGIN IMMEDIATE)."""
    from sqlalchemy import select

    row = session.scalars(
        select(model)
        .where(model.id == id_)  # type: ignore[attr-defined]
        .with_for_update(of=model)
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        return get_or_404(session, model, id_)
    return row


def get_or_404(session: Session, model: type[T], id_: int) -> T:
    """The row of ``model`` with this id, or a 404 naming what was not found."""
    from ledger.errors import NotFound

    obj = session.get(model, id_)
    if obj is None:
        label = str(getattr(model, "__tablename__", model.__name__)).removesuffix("s")
        raise NotFound(f"No {label.replace('_', ' ')} with id {id_}.")
    return obj


# SQLite has one writer at a time. A deferred transaction that reads, then writes,
# can fail to upgrade its lock; so writes begin IMMEDIATE (take the write lock
# before reading), and only reads begin deferred. The request boundary says which.
sqlite_begin: contextvars.ContextVar[str] = contextvars.ContextVar(
    "sqlite_begin", default="BEGIN IMMEDIATE"
)


_DATABASE_KEYS: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def database_key(bind: Session | Engine) -> str:
    """The database a session's or an engine's connections go to, as the key of a
    cache kept per database in this process. Its URL would do, but a URL hashes by
    rendering itself as text, every time: this renders it once per engine."""
    engine = bind if isinstance(bind, Engine) else bind.get_bind().engine
    key = _DATABASE_KEYS.get(engine)
    if key is None:
        key = _DATABASE_KEYS[engine] = engine.url.render_as_string(hide_password=False)
    return key


def make_engine(url: str, *, pipeline: bool = False, **kw: Any) -> Engine:
    """The engine for ``url``; ``pipeline``: on PostgreSQL, statements that can
    travel together go in one round trip (the ``DATABASE_PIPELINE`` setting)."""
    url_obj = sa.make_url(url)
    if pipeline:
        kw["execution_options"] = {**kw.get("execution_options", {}), PIPELINE_OPTION: True}
    if url_obj.get_backend_name() == "sqlite":
        engine = sa.create_engine(url_obj, connect_args={"timeout": 30}, **kw)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy's "begin" event, not the driver, start transactions.
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: sa.Connection) -> None:
            conn.exec_driver_sql(sqlite_begin.get())

        return engine
    if url_obj.get_backend_name() == "postgresql" and url_obj.drivername == "postgresql":
        url_obj = url_obj.set(drivername="postgresql+psycopg")
    engine = sa.create_engine(url_obj, **kw)
    _ping_after_idle(engine)
    _commit_with_queued(engine)
    return engine


# A pooled connection idle for longer than this is pinged before it is handed out.
PING_AFTER_IDLE_SECONDS = 1.0
_IDLE_SINCE = "ledger.idle_since"


def _ping_after_idle(engine: Engine) -> None:
    """``pool_pre_ping``, but only for a connection that has been idle a while.

    A server restart, a failover or an idle timeout finds connections resting in
    the pool, and those are still pinged (and replaced, the pool retrying, when
    dead). A connection handed back a moment ago is not: under load, that saves a
    round trip per request. A connection that dies in that moment fails its
    request with 503 database_unavailable, nothing written, the pool invalidated;
    the retry (safe: every money-moving request has its Idempotency-Key) gets a
    fresh one."""
    dialect = engine.dialect

    @event.listens_for(engine, "connect")
    def _new(dbapi_conn: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_conn: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is not None and time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_conn)
        except dialect.loaded_dbapi.Error as exc:
            if dialect.is_disconnect(exc, dbapi_conn, None):
                raise sa.exc.DisconnectionError(str(exc)) from exc
            raise


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


class DriverStatement:
    """A statement that (nearly) every request runs. On PostgreSQL it is compiled
    once and executed straight on the session's psycopg connection, in its
    transaction; elsewhere (SQLite) it goes through SQLAlchemy as usual.

    ``Connection.execute`` spends about 75 µs of CPU a statement on work that such
    a statement does not need (the execution context, the result's metadata):
    docs/architecture.md, "Round trips on PostgreSQL". Errors still come back as
    SQLAlchemy's exceptions, so the problem handlers answer them as they would."""

    def __init__(self, statement: sa.Executable) -> None:
        self.statement: sa.Executable | None = statement

    @functools.cached_property
    def sql(self) -> str:
        """The statement as psycopg takes it, compiled at its first use (not at
        import: compiling a query of mapped classes configures every mapper, and
        the models a relationship names may not all be imported yet)."""
        from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

        assert self.statement is not None
        dialect = PGDialect_psycopg()  # type: ignore[no-untyped-call]
        return str(self.statement.compile(dialect=dialect))  # type: ignore[attr-defined]

    @classmethod
    def postgresql(cls, sql: str) -> DriverStatement:
        """A statement written for psycopg (``%(name)s`` parameters), made of others'
        ``sql``: PostgreSQL only."""
        made = cls.__new__(cls)
        made.statement, made.sql = None, sql
        return made

    def rows(self, session: Session, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """The statement's rows (none for a statement that returns nothing). On
        PostgreSQL with the ``DATABASE_PIPELINE`` setting, a transaction's first
        statement travels with its BEGIN (a psycopg pipeline); otherwise psycopg
        sends the BEGIN on its own, which costs the client less CPU than the
        pipeline's machinery where the database is near (docs/architecture.md)."""
        connection = session.connection()
        if connection.dialect.name != "postgresql":
            assert self.statement is not None, "a PostgreSQL-only statement"
            result = connection.execute(self.statement, params)
            return [tuple(row) for row in result] if result.returns_rows else []
        driver: Any = connection.connection.driver_connection
        first = driver.pgconn.transaction_status == _IDLE
        return run_on(connection, [(self, params)], pipelined=first)


def run_on(
    connection: sa.Connection,
    calls: Sequence[tuple[DriverStatement, dict[str, Any]]],
    *,
    pipelined: bool = False,
    commit: bool = False,
) -> list[tuple[Any, ...]]:
    """``calls`` straight on ``connection``'s psycopg connection (a session's, or
    one outside any session: the payment's fast lane), in order, then COMMIT if
    asked (``pipelined``: in one psycopg pipeline with ``DATABASE_PIPELINE``); the
    last statement's rows. Listeners on ``before_cursor_execute`` see the
    statements; errors come out as SQLAlchemy's, a lost connection invalidating the
    pool's. PostgreSQL only."""
    driver: Any = connection.connection.driver_connection
    cursor = _cursor(connection.info, driver)
    _announce(connection, calls)
    _execute(connection, driver, cursor, calls, pipelined=pipelined, commit=commit)
    return _fetched(cursor)


PIPELINE_OPTION = "ledger_pipeline"  # the engine's execution option: DATABASE_PIPELINE


def _execute(
    connection: sa.Connection,
    driver: Any,
    cursor: Any,
    calls: Sequence[tuple[DriverStatement, dict[str, Any]]],
    *,
    pipelined: bool,
    commit: bool = False,
) -> None:
    """Each (statement, parameters) executed in order on ``cursor``, then COMMIT if
    asked: in one psycopg pipeline when the engine pipelines and ``pipelined`` says
    a round trip is saved; else one after another. A driver error comes out as
    SQLAlchemy's, naming the statement that failed."""
    current: tuple[str, dict[str, Any]] = ("COMMIT", {})
    try:
        if pipelined and connection.get_execution_options().get(PIPELINE_OPTION):
            with driver.pipeline():
                for statement, params in calls:
                    current = (statement.sql, params)
                    cursor.execute(statement.sql, params)
                if commit:
                    driver.commit()
            return
        for statement, params in calls:
            current = (statement.sql, params)
            cursor.execute(statement.sql, params)
        if commit:
            current = ("COMMIT", {})
            driver.commit()
    except _psycopg_error() as exc:
        raise _as_sqlalchemy_error(connection, *current, exc) from exc


_IDLE = 0  # libpq's PQTRANS_IDLE: no transaction open on the connection
_TUPLES_OK = 2  # libpq's PGRES_TUPLES_OK: a result with rows


def _psycopg_error() -> type[Exception]:
    import psycopg

    return psycopg.Error


def _fetched(cursor: Any) -> list[tuple[Any, ...]]:
    result = cursor.pgresult
    if result is None or result.status != _TUPLES_OK:
        return []
    rows: list[tuple[Any, ...]] = cursor.fetchall()
    return rows


_CURSORS = "ledger.cursors"


def _cursor(info: dict[str, Any], driver: Any) -> Any:
    """A psycopg cursor kept with the connection: a cursor is reusable, and making
    one (its adapters, its state) for every statement costs more than the
    statement's own formatting."""
    kept = info.get(_CURSORS)
    if kept is None or kept[0] is not driver or kept[1].closed:
        kept = info[_CURSORS] = (driver, driver.cursor())
    return kept[1]


def _announce(connection: sa.Connection, sent: Sequence[tuple[DriverStatement, Any]]) -> None:
    """Listeners that watch the SQL sent (tests, tracing) see driver statements too."""
    if connection._has_events or connection.engine._has_events:
        for statement, values in sent:
            connection.dispatch.before_cursor_execute(
                connection, None, statement.sql, values, None, False
            )


def _as_sqlalchemy_error(
    connection: sa.Connection, sql: str, params: Any, exc: Exception
) -> sa.exc.StatementError:
    """A psycopg error as SQLAlchemy's (as ``Connection.execute`` raises it), so
    that the problem handlers answer it the same way. A lost connection is
    invalidated, and with it every connection the pool made before it, as
    ``Connection.execute`` does on a disconnect: a server restart or a failover
    took them all, and a retry must not be handed another dead one."""
    import psycopg

    lost = connection.dialect.is_disconnect(exc, connection.connection, None)  # type: ignore[arg-type]
    if lost:
        # What SQLAlchemy's own handling of a disconnect calls (Connection.
        # _handle_dbapi_exception): the pool's connections up to now are stale.
        connection.engine.pool._invalidate(connection.connection, exc, _checkin=False)
        connection.invalidate(exc)
    return sa.exc.DBAPIError.instance(sql, params, exc, psycopg.Error, connection_invalidated=lost)


# Statements whose result nobody reads, waiting on the connection to travel with
# the transaction's COMMIT: see ``at_commit``.
AT_COMMIT = "ledger.at_commit"


def at_commit(
    session: Session,
    statement: DriverStatement,
    params: dict[str, Any],
    *,
    independent: bool = False,
) -> None:
    """Run ``statement`` at the end of this transaction, right before its COMMIT
    (PostgreSQL: the statements in the order queued, then COMMIT; with
    ``DATABASE_PIPELINE``, all in one round trip). It must check itself: its
    result is never read, and an error in it stops the COMMIT, rolling the whole
    transaction back. Elsewhere (SQLite) it runs now.

    ``independent``: an INSERT, UPDATE or DELETE that neither reads what the
    statements queued after it write nor writes what they read; on PostgreSQL it
    then runs as a CTE of the next one, in the same statement (``folded``)."""
    if independent and not _MODIFYING.match(statement.sql):
        raise ValueError("only an INSERT, UPDATE or DELETE can run as part of another")
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        statement.rows(session, params)
        return
    connection.info.setdefault(AT_COMMIT, []).append((statement, params, independent))


_MODIFYING = re.compile(r"\s*(INSERT|UPDATE|DELETE)\s", re.IGNORECASE)
_WITH = re.compile(r"\s*WITH(\s+RECURSIVE)?\s", re.IGNORECASE)


def folded(
    queued: list[tuple[DriverStatement, dict[str, Any], bool]],
) -> list[tuple[DriverStatement, dict[str, Any]]]:
    """The queue as it is sent: each run of independent statements folded into the
    statement after it as data-modifying CTEs, which PostgreSQL runs once whatever
    the statement reads (their parameters must not clash); one statement, one
    execution and one round trip fewer each."""
    out: list[tuple[DriverStatement, dict[str, Any]]] = []
    before: list[tuple[DriverStatement, dict[str, Any]]] = []
    for statement, params, independent in queued:
        if independent:
            before.append((statement, params))
            continue
        merged = dict(params)
        for _, values in before:
            merged.update(values)
        if before and len(merged) == len(params) + sum(len(v) for _, v in before):
            out.append((_with_before(tuple(s for s, _ in before), statement), merged))
        else:  # nothing to fold, or a parameter's name in two of them
            out += [*before, (statement, params)]
        before = []
    return out + before


@functools.cache
def _with_before(
    before: tuple[DriverStatement, ...], statement: DriverStatement
) -> DriverStatement:
    """``statement`` with ``before`` as its first CTEs (cached: the same text each
    time, so psycopg prepares it)."""
    ctes = ", ".join(f"ledger_before_{i} AS ({s.sql})" for i, s in enumerate(before))
    match = _WITH.match(statement.sql)
    if match is None:
        return DriverStatement.postgresql(f"WITH {ctes} {statement.sql}")
    recursive = " RECURSIVE" if match.group(1) else ""
    return DriverStatement.postgresql(f"WITH{recursive} {ctes}, {statement.sql[match.end() :]}")


def _commit_with_queued(engine: Engine) -> None:
    """At the DBAPI commit: the queued statements and COMMIT (in one round trip
    with ``DATABASE_PIPELINE``). SQLAlchemy's own COMMIT that follows finds the
    transaction done (psycopg then sends nothing). Dropped on rollback, and when a
    connection returns to the pool."""

    @event.listens_for(engine, "commit")
    def _send(connection: sa.Connection) -> None:
        queued = connection.info.pop(AT_COMMIT, None)
        if not queued:
            return
        run_on(connection, folded(queued), pipelined=True, commit=True)

    @event.listens_for(engine, "rollback")
    def _drop(connection: sa.Connection) -> None:
        if not connection.invalidated:  # an invalidated one takes its queue with it
            connection.info.pop(AT_COMMIT, None)

    @event.listens_for(engine, "checkin")
    def _drop_returned(dbapi_conn: Any, record: Any) -> None:
        record.info.pop(AT_COMMIT, None)


@dataclass
class DatabaseState:
    engine: Engine
    sessionmaker: sessionmaker[Session]


class Database:
    """Engine and per-request session, as a Flask extension. The engine belongs to
    the application (``app.extensions``), so several apps can live in one process."""

    def init_app(self, app: Flask) -> DatabaseState:
        pool: dict[str, Any] = {}
        if not app.config["DATABASE_URL"].startswith("sqlite"):
            pool = {
                "pool_size": app.config.get("DB_POOL_SIZE", 5),
                "max_overflow": app.config.get("DB_MAX_OVERFLOW", 10),
            }
        engine = make_engine(
            app.config["DATABASE_URL"], pipeline=bool(app.config["DATABASE_PIPELINE"]), **pool
        )
        state = DatabaseState(engine, sessionmaker(engine, expire_on_commit=False))
        app.extensions["ledger.db"] = state
        app.teardown_appcontext(self._close)
        return state

    @property
    def state(self) -> DatabaseState:
        state: DatabaseState = current_app.extensions["ledger.db"]
        return state

    @property
    def engine(self) -> Engine:
        return self.state.engine

    @property
    def session(self) -> Session:
        """The request's session, made at its first use (a payment in the fast lane
        makes none), carrying the request's id for the audit events."""
        if "db_session" not in g:
            g.db_session = self.state.sessionmaker()
            g.db_session.info["request_id"] = g.get("request_id")
        session: Session = g.db_session
        return session

    def _close(self, _exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            session.close()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work outside a request (CLI, background job): commit or roll back."""
        with self.state.sessionmaker() as session, session.begin():
            yield session


db = Database()
