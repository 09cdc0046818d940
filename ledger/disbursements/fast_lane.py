"""An ordinary payment in one statement, outside the ORM's session (PostgreSQL).

``POST /api/v1/disbursements`` is the request a treasurer under pressure sends most.
Made the usual way it costs about 2.5 ms of the server's Python (authentication,
the SQLAlchemy session and its commit hooks, flask-smorest's layers, five round
trips), where the payment's own work is a fraction of that: docs/benchmarks.md,
"The payment as one statement". The fast lane answers the same request before the
usual request handling starts (a ``before_request`` hook, ahead of authentication):

1. the body is validated with the view's own schema (``DisbursementCreateSchema``);
2. the answer is prepared as the view would send it (``DisbursementSchema``'s dump,
   as ``@blp.response`` sends it), with the three values only the database knows
   (the payment's id, its fund, its creator) left as ``format()`` places;
3. one statement in autocommit, ``ledger_pay()`` (migrations ``2b7e4d9c1a36`` and
   ``8e6f1a2b3c47``), authenticates the token, checks the treasurer's role, claims
   the Idempotency-Key, pays through ``ledger_disburse()``, stores the answer and
   writes the two audit events ``disburse_in_database`` records, chained, in the
   canonical text ``audit.services.event_hash`` hashes.

The payee's screening stays Python's: the lane names the payee it expects (the one
this process saw paid on the request before) with the digest it found clear, and
the function pays only that payee with that digest. Whatever the lane does not
finish, the function has not written (it raises, and the statement rolls back,
claim included), and the request goes the usual way from the start, which answers
it as it always has: an invalid body, a token that does not authenticate or lacks
the role (401, 403, and the failed-authentication limit), a key already used
(replay, or 422 for another body), a refusal with its evidence, a payment
``ledger_disburse()`` leaves to Python, a request this process has not paid yet or
whose payee changed, a payee not yet screened by this process, a rate, a body over
64 KiB. A key still held by a concurrent request after the bounded wait is
answered as the usual way answers it (409 ``request_in_progress``), without waiting
a second time. ``PAYMENTS_FAST_LANE`` turns it off. Everything a payment writes is
the same either way (``tests/disbursements/test_fast_lane.py``).
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any, cast

import sqlalchemy as sa
from flask import Request, Response, current_app, g, request
from marshmallow import ValidationError
from sqlalchemy.exc import DBAPIError

from ledger.api import parse_money, today
from ledger.audit.services import canonical
from ledger.auth.access import load_user
from ledger.auth.tokens import caller, hash_token
from ledger.db import DriverStatement, database_key, db, run_on
from ledger.disbursements.in_database import (
    DECLINED,
    clear_key,
    forget_payee,
    known_clear,
    known_payee,
    screening_now,
    screening_params,
)
from ledger.disbursements.schemas import DisbursementCreateSchema, DisbursementSchema
from ledger.errors import LedgerError
from ledger.idempotency.services import (
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
# ``ledger_pay()``'s refusals to finish, each having written nothing:
LEFT_TO_PYTHON = "LP001"  # ledger_disburse() declined, or a value JSON cannot carry exactly
NOT_KNOWN_CLEAR = "LP002"  # the request's payee, or its digest, is not the one named

_PAY = DriverStatement.postgresql(
    "SELECT * FROM ledger_pay(%(token_hash)s, %(now)s, %(role)s, %(key)s, %(method)s, "
    "%(path)s, %(request_hash)s, %(wait)s, %(request_id)s, %(amount_minor)s, "
    "%(currency)s, %(reference)s, %(paid_on)s, CAST(%(screening)s AS json), %(list_id)s, "
    "%(list_imported_at)s, %(payee_id)s, %(payee_digest)s, %(trace_id)s, %(answer)s, "
    "%(request_key)s, %(request_low)s, %(request_high)s)"
)
_CREATE = DisbursementCreateSchema()
_ANSWER_SCHEMA = DisbursementSchema()
# What the answer holds, until the database fills them in, where it will hold the
# payment's id, fund and creator (``ledger_pay()``'s ``format()`` arguments 1, 2, 3).
_PLACES = {
    "id": (-9_000_000_000_000_000_001, "%1$s"),
    "fund_id": (-9_000_000_000_000_000_002, "%2$s"),
    "created_by": (-9_000_000_000_000_000_003, "%3$s"),
}


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
    req: Request = cast(Any, request)._get_current_object()  # looked up once, not per use
    scheme, _, token = (req.headers.get("Authorization") or "").partition(" ")
    token, key = token.strip(), (req.headers.get(HEADER) or "").strip()
    length = req.content_length
    if scheme.lower() != "bearer" or not token or not key or len(key) > 200:
        return None
    if length is None or length > PRECLAIM_MAX_BODY:
        return None
    # A client that failed too often is refused before its token is looked up.
    auth_failures().check()
    try:
        data = _CREATE.load(req.get_json(silent=True) or {})
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
    request_id = data["spending_request_id"]
    database = database_key(engine)
    payee = known_payee(database, request_id)
    if payee is None or not known_clear(clear_key(database, list_key, *payee)):
        return None  # the usual way pays it, screening the payee if it must
    paid_on = data["paid_on"] or today()
    response = _answer(request_id, payee[0], amount, data["reference"], paid_on, now, screening)
    if response is None:
        return None
    params = {
        "token_hash": hash_token(token),
        "role": ROLE,
        "key": key,
        "method": req.method,
        "path": req.path,
        "request_hash": request_fingerprint(),
        "wait": WAIT_FOR_FIRST,
        "request_id": request_id,
        "amount_minor": amount.minor,
        "currency": amount.currency,
        "reference": data["reference"],
        "paid_on": paid_on,
        **screening_params(list_key, now, screening),
        # Stored as the audit trail's canonical text, which the event then quotes.
        "screening": canonical(screening),
        "payee_id": payee[0],
        "payee_digest": payee[1],
        "trace_id": getattr(g, "request_id", None),
        "answer": response.get_data(as_text=True),
        **_request_parts.get((database, request_id), _NO_PARTS),
    }
    with engine.connect() as connection:  # from the pool; back to it as it was
        return _pay(connection, params, response)


def _answer(
    request_id: int,
    payee_id: int,
    amount: Money,
    reference: str,
    paid_on: dt.date,
    now: dt.datetime,
    screening: dict[str, Any],
) -> Response | None:
    """The view's answer (``DisbursementSchema``'s dump, sent as ``@blp.response``
    sends it), as a ``format()`` template: ``%`` doubled, the database's three values
    as their places. None if the text does not hold each place exactly once."""
    # The function pays in the fund's base currency only, at rate 1.
    values = SimpleNamespace(
        spending_request_id=request_id,
        payee_id=payee_id,
        amount_minor=amount.minor,
        currency=amount.currency,
        fx_rate=None,
        base_currency=amount.currency,
        base_amount_minor=amount.minor,
        reference=reference,
        paid_on=paid_on,
        screening=screening,
        created_at=now,
        **{name: mark for name, (mark, _) in _PLACES.items()},
    )
    response = cast(Response, current_app.json.response(_ANSWER_SCHEMA.dump(values)))
    text = response.get_data(as_text=True).replace("%", "%%")
    for name, (mark, place) in _PLACES.items():
        held = f'"{name}":{mark}'
        if text.count(held) != 1:
            return None
        text = text.replace(held, f'"{name}":{place}')
    response.set_data(text)
    response.status_code = 201
    return response


def _pay(connection: sa.Connection, params: dict[str, Any], response: Response) -> Response | None:
    driver: Any = connection.connection.driver_connection
    driver.autocommit = True  # one statement, its own transaction
    try:
        rows = run_on(connection, [(_PAY, params)])
    except DBAPIError as exc:
        sqlstate = getattr(exc.orig, "sqlstate", None)
        if sqlstate == LEFT_TO_PYTHON:
            # The usual way decides it without asking ledger_disburse() again.
            setattr(g, DECLINED, True)
            return None
        if sqlstate == NOT_KNOWN_CLEAR:
            # The usual way pays it, and learns the payee again.
            forget_payee(database_key(connection.engine), params["request_id"])
            return None
        if not is_lock_timeout(exc):
            raise
        # A concurrent request holds the key, and has for WAIT_FOR_FIRST: answered
        # as the usual way answers it (the caller, authenticated and a treasurer by
        # then, is told the first request is still at work), without a second wait.
        load_user()
        raise in_progress() from None
    finally:
        if not driver.closed:
            driver.autocommit = False
    # No row: not authenticated, or not a treasurer. No key: the key was taken.
    # Either way nothing was written.
    if not rows or rows[0][7] is None:
        return None
    row = rows[0]
    user = caller(*row[:7])
    g.user, g.user_id = user, user.id
    response.set_data(row[8])
    if row[9] is not None:  # the request's snapshot rendered anew: kept for its next payment
        _remember_parts(database_key(connection.engine), params["request_id"], *row[9:12])
    return response


# Per spending request, its snapshot's parts as ``ledger_pay()`` last rendered them
# (but for disbursed_minor, which each payment moves), and the key of the row they
# were rendered from: handed back, they are used while the row still has that key.
_request_parts: dict[tuple[str, int], dict[str, str | None]] = {}
_NO_PARTS: dict[str, str | None] = {"request_key": None, "request_low": None, "request_high": None}
MAX_PARTS = 20_000


def _remember_parts(
    database: str, request_id: int, key: str, low: str | None, high: str | None
) -> None:
    if len(_request_parts) >= MAX_PARTS:
        _request_parts.clear()
    _request_parts[database, request_id] = {
        "request_key": key,
        "request_low": low,
        "request_high": high,
    }
