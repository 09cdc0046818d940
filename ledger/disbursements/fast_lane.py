"""An ordinary payment in two statements, outside the ORM's session (PostgreSQL).

``POST /api/v1/disbursements`` is the request a treasurer under pressure sends most.
Made the usual way it costs about 2.5 ms of the server's Python (authentication,
the SQLAlchemy session and its commit hooks, flask-smorest's layers, five round
trips), where the payment's own work is a fraction of that: docs/benchmarks.md,
"The payment as one statement". The fast lane answers the same request before the
usual request handling starts (a ``before_request`` hook, ahead of authentication):

1. the body is validated with the view's own schema (``DisbursementCreateSchema``);
2. one statement, ``ledger_pay()`` (migration ``2b7e4d9c1a36``), authenticates the
   token, checks the treasurer's role, claims the Idempotency-Key and pays through
   ``ledger_disburse()``, in a transaction on a connection from the engine's pool;
3. the payee's screening result is taken from the same cache ``in_database`` keeps;
4. the answer is ``DisbursementSchema``'s dump, as the view's would be, and the
   audit events are those ``disburse_in_database`` records;
5. one statement stores the answer and chains the events (``CHAIN_STEP``), and the
   transaction commits.

Whatever the fast lane does not finish, it rolls back, claim included, and the
request goes the usual way from the start, which answers it as it always has: an
invalid body, a token that does not authenticate or lacks the role (401, 403, and
the failed-authentication limit), a key already used (replay, or 422 for another
body), a refusal with its evidence, a payment ``ledger_disburse()`` leaves to
Python, a payee not yet screened by this process, a rate, a body over 64 KiB. A key
still held by a concurrent request after the bounded wait is answered as the usual
way answers it (409 ``request_in_progress``), without waiting a second time.
``PAYMENTS_FAST_LANE`` turns it off. Everything a payment writes is the same either
way (``tests/disbursements/test_fast_lane.py``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Response, current_app, g, jsonify, request
from marshmallow import ValidationError
from sqlalchemy.exc import OperationalError

from ledger.api import parse_money, today
from ledger.audit.services import CHAIN_STEP, chain_step_params
from ledger.auth.access import load_user
from ledger.auth.tokens import caller, hash_token
from ledger.db import DriverStatement, db, folded, run_on
from ledger.disbursements.in_database import (
    DECLINED,
    answer,
    clear_key,
    events,
    known_clear,
    screening_now,
    screening_params,
)
from ledger.disbursements.schemas import DisbursementCreateSchema, DisbursementSchema
from ledger.errors import LedgerError
from ledger.idempotency.services import (
    ANSWER,
    HEADER,
    PRECLAIM_MAX_BODY,
    WAIT_FOR_FIRST,
    in_progress,
    is_lock_timeout,
    request_fingerprint,
)
from ledger.money import Money
from ledger.ops.ratelimit import auth_failures

ENDPOINT = "disbursements.Disbursements"
ROLE = "treasurer"

_PAY = DriverStatement.postgresql(
    "SELECT * FROM ledger_pay(%(token_hash)s, %(now)s, %(role)s, %(key)s, %(method)s, "
    "%(path)s, %(request_hash)s, %(wait)s, %(request_id)s, %(amount_minor)s, "
    "%(currency)s, %(reference)s, %(paid_on)s, CAST(%(screening)s AS json), %(list_id)s, "
    "%(list_imported_at)s)"
)
_CREATE = DisbursementCreateSchema()
_ANSWER_SCHEMA = DisbursementSchema()


def enabled() -> bool:
    """The fast lane is on (``PAYMENTS_FAST_LANE``, and the in-database payment it
    builds on, ``PAYMENTS_IN_DATABASE``) and the database is PostgreSQL."""
    config = current_app.config
    if not (config.get("PAYMENTS_FAST_LANE") and config.get("PAYMENTS_IN_DATABASE", True)):
        return False
    return db.engine.dialect.name == "postgresql"


def pay() -> Response | None:
    """Before the request's usual handling: the payment's answer, or None to let the
    request go the usual way (having written nothing)."""
    if request.method != "POST" or request.endpoint != ENDPOINT or not enabled():
        return None
    scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
    token, key = token.strip(), (request.headers.get(HEADER) or "").strip()
    length = request.content_length
    if scheme.lower() != "bearer" or not token or not key or len(key) > 200:
        return None
    if length is None or length > PRECLAIM_MAX_BODY:
        return None
    # A client that failed too often is refused before its token is looked up.
    auth_failures().check()
    try:
        data = _CREATE.load(request.get_json(silent=True) or {})
        amount = parse_money(data)
    except (ValidationError, LedgerError):
        return None  # the usual way answers it, in its order (401, 403, then 422)
    if data["fx_rate"] is not None:
        return None

    engine = db.engine
    screened = screening_now(engine)
    if screened is None:  # the first payment of this process builds the index
        return None
    list_key, now, screening = screened
    params = {
        "token_hash": hash_token(token),
        "role": ROLE,
        "key": key,
        "method": request.method,
        "path": request.path,
        "request_hash": request_fingerprint(),
        "wait": WAIT_FOR_FIRST,
        "request_id": data["spending_request_id"],
        "amount_minor": amount.minor,
        "currency": amount.currency,
        "reference": data["reference"],
        "paid_on": data["paid_on"] or today(),
        **screening_params(list_key, now, screening),
    }
    with engine.connect() as connection:  # from the pool; back to it, rolled back if open
        return _pay(connection, engine, params, screening, list_key, amount)


def _pay(
    connection: sa.Connection,
    engine: sa.Engine,
    params: dict[str, Any],
    screening: dict[str, Any],
    list_key: Any,
    amount: Money,
) -> Response | None:
    driver: Any = connection.connection.driver_connection
    try:
        rows = run_on(connection, [(_PAY, params)])
    except OperationalError as exc:
        if not is_lock_timeout(exc):
            raise
        # A concurrent request holds the key, and has for WAIT_FOR_FIRST: answered
        # as the usual way answers it (the caller, authenticated and a treasurer by
        # then, is told the first request is still at work), without a second wait.
        driver.rollback()
        load_user()
        raise in_progress() from None
    # No row: not authenticated, or not a treasurer. No key: the key was taken. No
    # payment: left to Python (which the usual way then decides without asking the
    # function again).
    key_id, paid, before, digest = rows[0][7:] if rows else (None, None, None, None)
    if key_id is None or paid is None:
        driver.rollback()
        if key_id is not None:
            setattr(g, DECLINED, True)
        return None
    disbursement = answer(paid, screening)
    if not known_clear(clear_key(engine.url, list_key, disbursement.payee_id, digest)):
        driver.rollback()  # the usual way screens the payee now
        return None
    user = caller(*rows[0][:7])
    g.user, g.user_id = user, user.id
    response = jsonify(_ANSWER_SCHEMA.dump(disbursement))
    response.status_code = 201
    pending = events(user, disbursement, before, amount, getattr(g, "request_id", None))
    stored = {"key_id": key_id, "status_code": 201, "body": response.get_data(as_text=True)}
    queued = [(ANSWER, stored, True), (CHAIN_STEP, chain_step_params(pending), False)]
    run_on(connection, folded(queued), commit=True)
    return response
