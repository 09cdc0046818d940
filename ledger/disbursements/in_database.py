"""An ordinary payment as one PostgreSQL round trip: ``ledger_disburse()``.

``disburse`` asks the database function first. The function pays only when every
rule plainly holds, and writes exactly what the Python path writes (the migration
``20261125_0400_disburse_in_database`` lists the cases it leaves alone). Anything
else, a refusal above all, comes back as "no row", and ``disburse`` goes on in
Python, which explains the refusal with its evidence or pays the unusual case.

What stays here, in Python, is what SQL cannot do or should not repeat:
- the name screening of the payee. The function returns a digest of everything the
  screening reads (the payee's row and its related parties); a payee found clear
  against the current lists is not searched again until that digest, the lists or
  the matcher change. A new hit refuses the payment and rolls the function's writes
  back with the rest of the transaction;
- the audit events, from the rows the function returns, as ``snapshot`` writes them;
- the response, from the same rows.

Every disbursement test on PostgreSQL runs through this path, and
``tests/disbursements/test_in_database.py`` compares what it writes, row for row,
with what the Python path writes.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from flask import current_app, g, has_app_context, has_request_context
from sqlalchemy.orm import Session

from ledger.audit.services import PENDING, jsonable, pending_event
from ledger.auth.models import Actor
from ledger.committee.models import SpendingRequest
from ledger.db import (
    Base,
    DriverStatement,
    ExactDecimal,
    UTCDateTime,
    database_key,
    get_or_404,
    is_postgresql,
    utcnow,
)
from ledger.disbursements.models import Disbursement
from ledger.money import Money
from ledger.payees.models import Payee

_PAY = DriverStatement(
    sa.text(
        "SELECT disbursement, request_before, payee_digest FROM ledger_disburse("
        ":actor_id, :request_id, :amount_minor, :currency, :reference, :paid_on, :now, "
        "CAST(:screening AS json), :list_id, :list_imported_at)"
    )
)

# Payees found clear, as the keys of everything that screening result depends on.
# Bounded: emptied when full (a miss only costs one search).
_clear: set[tuple[Any, ...]] = set()
_clear_lock = threading.Lock()
MAX_CLEAR = 200_000


# Set on ``g`` by the fast lane when ``ledger_disburse()`` left this request's
# payment to Python: the usual way then does not ask the function a second time.
DECLINED = "ledger_disburse_declined"


def enabled(session: Session) -> bool:
    if not is_postgresql(session):
        return False
    if has_app_context():
        if has_request_context() and g.get(DECLINED):
            return False
        return bool(current_app.config.get("PAYMENTS_IN_DATABASE", True))
    return True


def disburse_in_database(
    session: Session,
    actor: Actor,
    *,
    spending_request_id: int,
    amount: Money,
    reference: str,
    paid_on: dt.date,
    fx_rate: Decimal | None,
) -> SimpleNamespace | None:
    """The payment, paid by ``ledger_disburse()``, as the response shows it; or None,
    having written nothing, when the Python path must decide.

    The payment comes back as the row's values (as the ORM would load them) and the
    fund's base currency, in a plain namespace: nothing reads it but the response's
    schema, and a mapped ``Disbursement`` with its ``Fund`` attached cost more to
    build (the ORM's instrumentation) than the rest of the answer."""
    from ledger.compliance.services import assert_payable

    if fx_rate is not None or not enabled(session):
        return None
    screened = screening_now(session)
    if screened is None:  # the first payment of this process builds the index
        return None
    list_key, now, screening = screened
    rows = _PAY.rows(
        session,
        {
            "actor_id": actor.id,
            "request_id": spending_request_id,
            "amount_minor": amount.minor,
            "currency": amount.currency,
            "reference": reference,
            "paid_on": paid_on,
            **screening_params(list_key, now, screening),
        },
    )
    if not rows:
        return None
    ((paid, request_before, payee_digest),) = rows
    disbursement = answer(paid, screening)

    key = clear_key(database_key(session), list_key, disbursement.payee_id, payee_digest)
    if not known_clear(key):
        # Searched now, in this transaction: a new hit refuses (and opens its case),
        # and the rollback takes the function's writes with it.
        payee = get_or_404(session, Payee, disbursement.payee_id)
        assert_payable(
            session,
            payee,
            action="disburse",
            actor_id=actor.id,
            spending_request_id=spending_request_id,
        )
        remember_clear(key)
    remember_payee(key[0], spending_request_id, disbursement.payee_id, payee_digest)

    # An instance of the request already in this session is now out of date.
    stale = session.identity_map.get(session.identity_key(SpendingRequest, spending_request_id))
    if stale is not None:
        session.expire(stale)
    pending = session.info.setdefault(PENDING, [])
    pending += events(actor, disbursement, request_before, amount, session.info.get("request_id"))
    return disbursement


def screening_now(
    bind: Session | sa.Engine,
) -> tuple[Any, dt.datetime, dict[str, Any]] | None:
    """The list version this process screens against, the payment's time and the
    screening state the payment records; None until this process has built its name
    index (its first payment goes the Python way, which builds it)."""
    from ledger.screening.services import cached_index

    cached = cached_index(bind)
    if cached is None:
        return None
    list_key, index = cached
    now = utcnow()
    return list_key, now, screening_state(now, len(index))


def screening_params(list_key: Any, now: dt.datetime, screening: dict[str, Any]) -> dict[str, Any]:
    """What ``ledger_disburse()`` takes of them: the time, the state, the lists."""
    return {
        "now": now,
        "screening": json.dumps(screening),
        "list_id": list_key[0] if list_key else None,
        "list_imported_at": list_key[1] if list_key else None,
    }


def screening_state(now: dt.datetime, list_entries: int) -> dict[str, Any]:
    """The payee's screening state a payment records: clear, against the lists and
    matcher the caller's cached index was built from."""
    from ledger.screening.names import MATCHER_VERSION

    return {
        "checked_at": jsonable(now),
        "state": "clear",
        "matcher_version": MATCHER_VERSION,
        "list_entries": list_entries,
    }


def answer(paid: str, screening: dict[str, Any]) -> SimpleNamespace:
    """The payment ``ledger_disburse()`` returned, as the response shows it: the row's
    values (as the ORM would load them) and the fund's base currency, in a plain
    namespace (nothing reads it but the response's schema and the audit trail)."""
    values = from_json(Disbursement, paid)
    values["screening"] = screening
    # The function pays in the fund's base currency only.
    return SimpleNamespace(**values, base_currency=values["currency"])


def clear_key(database: str, list_key: Any, payee_id: int, payee_digest: str) -> tuple[Any, ...]:
    """What a payee's clear screening result depends on: the database
    (``ledger.db.database_key``), the lists, the payee's digest (its row and related parties), the
    matcher and the review threshold."""
    from ledger.screening.names import MATCHER_VERSION
    from ledger.screening.services import review_threshold

    return (database, list_key, payee_id, payee_digest, MATCHER_VERSION, review_threshold())


def known_clear(key: tuple[Any, ...]) -> bool:
    return key in _clear


def remember_clear(key: tuple[Any, ...]) -> None:
    with _clear_lock:
        if len(_clear) >= MAX_CLEAR:
            _clear.clear()
        _clear.add(key)


# Per spending request, its payee and the payee's digest as this process last paid
# it, found clear: what the fast lane names to ``ledger_pay()``, which pays only
# that payee with that digest. Bounded as ``_clear`` is.
_payees: dict[tuple[str, int], tuple[int, str]] = {}


def known_payee(database: str, spending_request_id: int) -> tuple[int, str] | None:
    return _payees.get((database, spending_request_id))


def remember_payee(
    database: str, spending_request_id: int, payee_id: int, payee_digest: str
) -> None:
    with _clear_lock:
        if len(_payees) >= MAX_CLEAR:
            _payees.clear()
        _payees[database, spending_request_id] = (payee_id, payee_digest)


def forget_payee(database: str, spending_request_id: int) -> None:
    with _clear_lock:
        _payees.pop((database, spending_request_id), None)


def events(
    actor: Actor,
    disbursement: SimpleNamespace,
    request_before: str,
    amount: Money,
    request_id: str | None,
) -> list[dict[str, Any]]:
    """The payment's two audit events, as ``record`` queues them: the disbursement
    made (its snapshot, from the values it was built from) and the request paid (as
    it was locked, and after)."""
    made = jsonable(vars(disbursement))
    del made["base_currency"]  # not a column
    before = from_json(SpendingRequest, request_before, snapshot=True)
    after = {**before, "disbursed_minor": before["disbursed_minor"] + amount.minor}
    return [
        pending_event(
            actor,
            "disbursement.made",
            "disbursements",
            disbursement.id,
            request_id,
            after=made,
        ),
        pending_event(
            actor,
            "spending_request.disbursed",
            "spending_requests",
            disbursement.spending_request_id,
            request_id,
            before=before,
            after=after,
        ),
    ]


def from_json(model: type[Base], text: str, *, snapshot: bool = False) -> dict[str, Any]:
    """A row as PostgreSQL's ``to_jsonb`` wrote it, as the model's attributes with
    the Python values the ORM would have loaded, in the mapper's column order;
    ``snapshot``: as the audit trail keeps them (``audit.services.snapshot``), in the
    same pass (a value taken as it is stays as it is)."""
    data = json.loads(text)
    values: dict[str, Any] = {}
    for key, name, convert in _converters(model):
        raw = data[name]
        if raw is not None and convert is not None:
            raw = jsonable(convert(raw)) if snapshot else convert(raw)
        values[key] = raw
    return values


_Converter = Callable[[Any], Any] | None
_CONVERTERS: dict[type[Base], list[tuple[str, str, _Converter]]] = {}


def _utc(raw: str) -> dt.datetime:
    return dt.datetime.fromisoformat(raw).astimezone(dt.UTC)


def _converters(model: type[Base]) -> list[tuple[str, str, _Converter]]:
    """Per column: its attribute, its name in the row, and what turns the JSON value
    into the ORM's (None: taken as it is). Worked out once per model."""
    found = _CONVERTERS.get(model)
    if found is None:
        found = []
        for attr in sa.inspect(model).column_attrs:
            column = attr.columns[0]
            kind = column.type
            convert: _Converter = None
            if isinstance(kind, UTCDateTime):
                convert = _utc
            elif isinstance(kind, ExactDecimal):
                convert = Decimal
            elif isinstance(kind, sa.Date):
                convert = dt.date.fromisoformat
            found.append((attr.key, column.name, convert))
        _CONVERTERS[model] = found
    return found
