"""ledger.bulk: many rows in one go (COPY on PostgreSQL, executemany elsewhere),
with the same values, ids and transaction as one INSERT per row."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ledger.bulk import insert_many, insert_many_returning_ids
from ledger.db import utcnow
from ledger.payees.models import Payee


def payee_record(n: int, created_at: dt.datetime) -> dict[str, Any]:
    return {
        "name": f"Household head {n}",
        "kind": "individual",
        "country": "PS",
        "aliases": [],
        "original_script_name": "محمد أبو شعبان" if n % 2 else None,
        "identifiers": [{"type": "national_id", "value": f"40000{n:04d}"}],
        "bank_account": f"PS-WALLET-{n:06d}",
        "created_by": None,
        "created_at": created_at,
    }


def test_rows_read_back_as_given_with_ids_in_order(session: Session) -> None:
    now = utcnow()
    records = [payee_record(n, now) for n in range(250)]
    ids = insert_many_returning_ids(session, Payee, records)
    session.commit()
    assert len(ids) == len(set(ids)) == 250
    assert ids == sorted(ids)
    for payee_id, record in zip(ids, records, strict=True):
        payee = session.get(Payee, payee_id)
        assert payee is not None
        assert payee.name == record["name"]
        assert payee.identifiers == record["identifiers"]  # JSON survives
        assert payee.original_script_name == record["original_script_name"]
        assert payee.created_at == now  # UTC, aware, to the microsecond
    # The table's own sequence moved past them: the next ordinary insert follows.
    later = Payee(name="Later", kind="company", country="PS", aliases=[], identifiers=[])
    session.add(later)
    session.flush()
    assert later.id > max(ids)


def test_rollback_takes_the_rows_back(session: Session) -> None:
    insert_many(session, Payee, [payee_record(n, utcnow()) for n in range(10)])
    assert session.scalar(sa.select(sa.func.count()).select_from(Payee)) == 10
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Payee)) == 0


def test_a_column_with_a_default_must_be_given(session: Session) -> None:
    record = payee_record(1, utcnow())
    del record["created_at"]
    with pytest.raises(ValueError, match="created_at"):
        insert_many(session, Payee, [record])
    with pytest.raises(ValueError, match="created_at"):
        insert_many_returning_ids(session, Payee, [record])
    assert insert_many_returning_ids(session, Payee, []) == []
    insert_many(session, Payee, [])
