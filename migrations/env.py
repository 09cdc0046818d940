"""Alembic environment: the URL comes from the caller (the app's CLI, the tests) or
LEDGER_DATABASE_URL; the target metadata is every model of the ledger."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import pool

import ledger.models  # noqa: F401  (registers every table on Base.metadata)
from ledger.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def database_url() -> str:
    url = config.attributes.get("database_url") or os.environ.get("LEDGER_DATABASE_URL")
    if url:
        return str(url)
    from ledger import create_app

    return str(create_app().config["DATABASE_URL"])


def run_migrations_offline() -> None:
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(database_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
