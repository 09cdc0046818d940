"""PostgreSQL itself refuses an unbalanced journal entry (SPEC §3.1): whoever writes
the lines, past ``post_entry``'s own check, the commit fails."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.postgresql_only

ENTRY = sa.text(
    "INSERT INTO journal_entries (fund_id, kind, value_date, memo, source_type, source_id, "
    "created_at) VALUES (:f, 'disbursement', '2021-07-01', 'by hand', 'test', 1, now()) "
    "RETURNING id"
)
LINE = sa.text(
    "INSERT INTO journal_lines (entry_id, fund_id, value_date, kind, account, currency, "
    "amount_minor, base_amount_minor) VALUES (:e, :f, '2021-07-01', 'disbursement', :a, "
    "'USD', :m, :b)"
)


def lines(session, fund_id, pairs):  # type: ignore[no-untyped-def]
    entry = session.execute(ENTRY, {"f": fund_id}).scalar_one()
    for account, minor, base in pairs:
        session.execute(LINE, {"e": entry, "f": fund_id, "a": account, "m": minor, "b": base})


def test_an_unbalanced_entry_does_not_commit(ledger, session):
    fund_id = ledger.funded()["fund"]["id"]
    lines(session, fund_id, [("cash", -100, -100), ("disbursements", 99, 99)])
    with pytest.raises(sa.exc.IntegrityError, match="does not balance"):
        session.execute(sa.text("SET CONSTRAINTS ALL IMMEDIATE"))  # as at COMMIT
    session.rollback()


def test_an_entry_balanced_per_currency_but_not_in_base_does_not_commit(ledger, session):
    fund_id = ledger.funded()["fund"]["id"]
    lines(session, fund_id, [("cash", -100, -100), ("disbursements", 100, 101)])
    with pytest.raises(sa.exc.IntegrityError, match="does not balance"):
        session.execute(sa.text("SET CONSTRAINTS ALL IMMEDIATE"))
    session.rollback()


def test_a_balanced_entry_commits(ledger, session):
    fund_id = ledger.funded()["fund"]["id"]
    lines(session, fund_id, [("cash", -100, -100), ("disbursements", 100, 100)])
    session.execute(sa.text("SET CONSTRAINTS ALL IMMEDIATE"))
    session.commit()
