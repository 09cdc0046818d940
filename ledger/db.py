"""The database: declarative base, column types, engine and one session per request.

The session's lifecycle is kept outside the functions that work on data: services
receive a ``Session``, add and flush; only the request boundary (``Database``'s
``commit_or_rollback`` around each view) or a CLI command commits.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import time
import weakref
from collections.abc import Iterator
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


def canonical_json(value: Any) -> str:
    """The canonical JSON text of ``value``: keys sorted, no spaces, unescaped
    Unicode. The audit chain hashes it; JSON columns store it."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# The demo data tells a 2021 story: while it loads, the ledger's clock reads the
# story's time (``clock_at``), so that every record and audit event is dated in
# order. Nothing else sets it: the API, the CLI and batches run on real time.
_CLOCK: contextvars.ContextVar[dt.datetime | None] = contextvars.ContextVar(
    "ledger_clock", default=None
)


def utcnow() -> dt.datetime:
    """Now, in UTC: the real time, or the time ``clock_at`` set for this context."""
    fixed = _CLOCK.get()
    return dt.datetime.now(dt.UTC) if fixed is None else fixed


@contextmanager
def clock_at(moment: dt.datetime) -> Iterator[None]:
    """Within the block, ``utcnow()`` answers ``moment`` (a UTC-aware time)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: the ledger's clock is UTC-aware")
    token = _CLOCK.set(moment.astimezone(dt.UTC))
    try:
        yield
    finally:
        _CLOCK.reset(token)


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


def insert_row(session: Session, model: type[T], values: dict[str, Any]) -> T:
    """One row of ``model`` inserted by a single Core ``INSERT … RETURNING`` (the
    unit of work's flush costs a payment more than the statement itself), and
    returned as a transient instance built from the row as stored: its id and
    defaults included, outside the session, so that nothing flushes it again.
    For rows the transaction only writes and hands back (a payment, its entry)."""
    row = session.execute(_insert_returning(model), values).one()
    return model(**row._asdict())


_INSERT_RETURNING: dict[Any, sa.Insert] = {}


def _insert_returning(model: Any) -> sa.Insert:
    """``INSERT INTO model's table … RETURNING *``, its columns named by the
    parameters it is given. Built once per model: building it (a RETURNING of every
    column) cost a payment about 70 coercions and a cache key each time."""
    statement = _INSERT_RETURNING.get(model)
    if statement is None:
        table: sa.Table = model.__table__
        statement = _INSERT_RETURNING[model] = sa.insert(table).returning(*table.c)
    return statement


def get_or_404(session: Session, model: type[T], id_: int, *options: Any) -> T:
    """The row of ``model`` with this id (loaded with ``options``), or a 404 naming
    what was not found."""
    from ledger.errors import NotFound

    obj = session.get(model, id_, options=options)
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


def make_engine(url: str, **kw: Any) -> Engine:
    """The engine for ``url``: SQLite with foreign keys, WAL and the request's
    BEGIN; PostgreSQL through psycopg 3, its pooled connections pinged after idling."""
    url_obj = sa.make_url(url)
    # JSON columns hold canonical text (sorted keys, no spaces, Unicode as it is):
    # an audit event's states are stored as the very bytes its hash covers.
    kw.setdefault("json_serializer", canonical_json)
    # A database error's message names its statement but not its values: a token's
    # hash, a name or an account number must not reach a log line.
    kw.setdefault("hide_parameters", True)
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
        engine = make_engine(app.config["DATABASE_URL"], **pool)
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
        """The request's session, made at its first use, carrying the request's id
        for the audit events."""
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
