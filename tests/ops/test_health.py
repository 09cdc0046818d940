"""/healthz and /readyz: liveness, and readiness (database reachable, migrations at head)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask

from ledger import create_app
from ledger.migrations import head_revision


def test_healthz_answers_without_a_token(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_is_ready_when_the_database_is_migrated_to_head(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["migrations"] == "ok"
    assert body["checks"]["revision"] == head_revision()


@pytest.mark.real_commits  # the probe reads, on a connection of its own, what is committed
def test_readyz_is_not_ready_when_the_database_is_behind_the_migrations(
    app: Flask, database_url: str
):
    engine: sa.Engine = app.extensions["ledger.db"].engine
    with engine.begin() as conn:
        head = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'behind'"))
    try:
        response = app.test_client().get("/readyz")
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = :h"), {"h": head})

    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["code"] == "not_ready"
    assert body["checks"]["migrations"] == "not at head"
    assert response.headers["Retry-After"]


def test_readyz_is_not_ready_when_the_database_is_unreachable():
    # A PostgreSQL port nothing listens on (port 1 on loopback: refused at once).
    app = create_app({"TESTING": True, "DATABASE_URL": "postgresql://127.0.0.1:1/nothing"})
    try:
        response = app.test_client().get("/readyz")
        live = app.test_client().get("/healthz")
    finally:
        app.extensions["ledger.db"].engine.dispose()

    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "unreachable"}
    assert live.status_code == 200  # alive, only not ready
