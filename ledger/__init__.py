"""The reconstruction-aid ledger: ``create_app()`` builds the Flask application."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from inspect import CO_COROUTINE
from typing import Any

from flask import Flask, Response, g, request
from flask.typing import ResponseReturnValue

from ledger.api import MAX_ID

# Not ``from ledger.db import db``: that would shadow the ``ledger.db`` module.
from ledger.db import db as database
from ledger.db import sqlite_begin
from ledger.errors import NotFound

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LedgerFlask(Flask):
    """Flask with the transaction boundary: a request is one transaction, committed
    when its view returns and rolled back when it raises."""

    def dispatch_request(self) -> ResponseReturnValue:
        rv = super().dispatch_request()
        if "db_session" in g:
            g.db_session.commit()
        return rv

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """A plain function as it is, told by its code flags. Flask asks
        ``inspect.iscoroutinefunction`` for every hook and view on every request
        (19 times a payment); a coroutine still goes to Flask."""
        code = getattr(func, "__code__", None)
        plain = code is not None and not code.co_flags & CO_COROUTINE
        if plain and not hasattr(func, "_is_coroutine_marker"):
            return func
        return super().ensure_sync(func)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = LedgerFlask(__name__, instance_relative_config=True)

    from ledger.config import load_config

    load_config(app, test_config)
    app.json.sort_keys = False  # type: ignore[attr-defined]

    state = database.init_app(app)
    from ledger.audit.services import install as install_audit

    install_audit(state.sessionmaker)

    from ledger import jobs

    jobs.init_app(app)

    from ledger.committee.policy import load_policy

    app.extensions["ledger.quorum_policy"] = load_policy(app.config["QUORUM_POLICY_FILE"])

    @app.before_request
    def _begin_request() -> None:
        g.request_id = request.headers.get("X-Request-Id", "")[:64] or secrets.token_hex(8)
        # SQLite: reads begin deferred; anything that may write takes the lock first.
        sqlite_begin.set("BEGIN" if request.method in SAFE_METHODS else "BEGIN IMMEDIATE")
        # The request's session, when one is made, carries g.request_id (Database.session).
        for name, value in (request.view_args or {}).items():
            # No row has an id a BIGINT cannot hold; the database must not be asked.
            if isinstance(value, int) and value > MAX_ID:
                raise NotFound(f"No {name.removesuffix('_id').replace('_', ' ')} with id {value}.")

    from ledger import ops

    # Before authentication: a request refused at the door is still timed, logged,
    # rate-limited and answered with the security headers.
    ops.init_app(app)

    from ledger import console

    console.init_app(app)

    from ledger.auth.access import load_user

    app.before_request(load_user)

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers["X-Request-Id"] = getattr(g, "request_id", "")
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    from ledger.api import make_api

    api = make_api(app)
    _register_blueprints(api)

    from ledger import problems

    problems.init_app(app)

    from ledger.cli import init_app as init_cli

    init_cli(app)
    return app


def _register_blueprints(api: Any) -> None:
    from ledger.audit.views import blp as audit_blp
    from ledger.auth.views import blp as auth_blp
    from ledger.batches.views import blp as batches_blp
    from ledger.committee.views import blp as committee_blp
    from ledger.compliance.views import blp as compliance_blp
    from ledger.disbursements.views import blp as disbursements_blp
    from ledger.documents.views import blp as documents_blp
    from ledger.funding.views import blp as funding_blp
    from ledger.jobs.views import blp as jobs_blp
    from ledger.journal.views import blp as journal_blp
    from ledger.notifications.views import blp as notifications_blp
    from ledger.payees.views import blp as payees_blp
    from ledger.projects.views import blp as projects_blp
    from ledger.reports.views import blp as reports_blp
    from ledger.screening.views import blp as screening_blp

    for blp in (
        auth_blp,
        funding_blp,
        projects_blp,
        payees_blp,
        compliance_blp,
        screening_blp,
        committee_blp,
        disbursements_blp,
        batches_blp,
        journal_blp,
        reports_blp,
        audit_blp,
        jobs_blp,
        notifications_blp,
        documents_blp,
    ):
        api.register_blueprint(blp, url_prefix="/api/v1")
