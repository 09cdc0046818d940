"""``/healthz`` (the process answers) and ``/readyz`` (it can serve: the database
answers and its schema is at the migrations' head).

Plain Flask routes outside ``/api/v1`` and its OpenAPI document: they are for load
balancers and orchestrators, need no token and reveal nothing but ok / not ok.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, current_app, jsonify

from ledger.problems import problem

blp = Blueprint("ops", __name__)


@blp.get("/healthz")
def healthz() -> Response:
    """Liveness: the process is up and answering. Touches nothing else."""
    return jsonify(status="ok")


def _migrations_head() -> str | None:
    """The head revision of the migrations shipped with this code (read once)."""
    if "ledger.migrations_head" not in current_app.extensions:
        from ledger.migrations import head_revision

        current_app.extensions["ledger.migrations_head"] = head_revision()
    head: str | None = current_app.extensions["ledger.migrations_head"]
    return head


def _readiness() -> dict[str, Any]:
    checks: dict[str, Any] = {}
    engine: sa.Engine = current_app.extensions["ledger.db"].engine
    head = _migrations_head()
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            try:
                current = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
            except sa.exc.DBAPIError:
                current = None
    except sa.exc.DBAPIError as exc:
        current_app.logger.error("readiness: database unreachable: %s", exc.orig)
        checks["database"] = "unreachable"
        return checks
    checks["database"] = "ok"
    checks["migrations"] = "ok" if current == head else "not at head"
    checks["revision"] = current
    checks["head"] = head
    return checks


@blp.get("/readyz")
def readyz() -> Response:
    """Readiness: the database is reachable and migrated to head."""
    checks = _readiness()
    if checks.get("database") == "ok" and checks.get("migrations") == "ok":
        return jsonify(status="ok", checks=checks)
    response = problem(
        503,
        "not_ready",
        "Not ready",
        "The database is unreachable or not migrated to head; run `flask --app wsgi db upgrade`.",
        checks=checks,
    )
    response.headers["Retry-After"] = "5"
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(blp)
