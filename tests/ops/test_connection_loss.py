"""Pooled connections that the server dropped (a restart, a failover, an idle
timeout): a connection that rested in the pool is pinged and replaced before a
request gets it; one handed back a moment ago is not pinged (that saves a round
trip per request under load), and if it died in that moment its request fails
with 503 database_unavailable, changing nothing, and the next one succeeds."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from ledger import db as ledger_db
from tests.ops.pg import admin_engine

# Real commits: the server terminates the pool's connections, the test's among them.
pytestmark = [pytest.mark.postgresql_only, pytest.mark.real_commits]


def drop_connections(app: Flask) -> int:
    """What a server restart does to the application's pool: every connection to
    its database is terminated by the server. How many were."""
    name = sa.make_url(app.config["DATABASE_URL"]).database
    admin = admin_engine()
    try:
        with admin.connect() as conn:
            return len(
                conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                ).all()
            )
    finally:
        admin.dispose()


@pytest.fixture
def restart(app: Flask) -> Iterator[Callable[[], int]]:
    """``drop_connections`` for the test; afterwards the pool is emptied of the
    connections it killed, before the app's own clean-up needs one."""
    yield lambda: drop_connections(app)
    app.extensions["ledger.db"].engine.dispose()


def test_a_connection_that_rested_is_pinged_and_replaced(app, ledger, restart, monkeypatch):
    monkeypatch.setattr(ledger_db, "PING_AFTER_IDLE_SECONDS", 0.0)
    fund = ledger.fund()
    assert restart() >= 1
    # Every request finds its connection dead at the ping, and gets a new one.
    assert ledger.get(f"/funds/{fund['id']}")["id"] == fund["id"]
    made = ledger.fund("Second fund")
    assert ledger.get(f"/funds/{made['id']}")["name"] == "Second fund"


def test_a_connection_that_died_in_use_fails_one_request_cleanly(ledger, restart, monkeypatch):
    monkeypatch.setattr(ledger_db, "PING_AFTER_IDLE_SECONDS", 3600.0)
    fund = ledger.fund()
    before = ledger.get("/funds")
    assert restart() >= 1

    body = {"name": "Lost fund", "base_currency": "USD"}
    lost = ledger.raw("POST", "/funds", "admin", body)
    assert lost.status_code == 503
    assert lost.mimetype == "application/problem+json"
    assert lost.get_json()["type"].endswith("database_unavailable")
    assert lost.headers["Retry-After"] == "1"

    # The pool was invalidated with that failure: the retry gets a live connection.
    again = ledger.raw("POST", "/funds", "admin", body)
    assert again.status_code == 201
    after = ledger.get("/funds")
    assert len(after["items"]) == len(before["items"]) + 1
    assert ledger.get(f"/funds/{fund['id']}")["id"] == fund["id"]
