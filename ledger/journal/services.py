"""Posting balanced entries, and the trial balance."""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ledger.auth.models import Actor
from ledger.db import insert_row, utcnow
from ledger.journal.models import JournalEntry, JournalLine
from ledger.money import Money

# The chart of accounts. Debit balances are positive, credit balances negative.
CASH = "cash"  # money in the fund's bank accounts
PLEDGES_RECEIVABLE = "pledges_receivable"  # promised, not yet received
CONTRIBUTIONS_PLEDGED = "contributions_pledged"  # revenue recognised at pledge
CONTRIBUTIONS_UNPLEDGED = "contributions_unpledged"  # received beyond a pledge
COMMITMENTS = "commitments_outstanding"  # approved, not yet paid (memorandum)
COMMITMENT_RESERVE = "commitment_reserve"  # the other side of the memorandum
DISBURSEMENTS = "disbursements"  # paid out
FX_DIFFERENCES = "fx_differences"  # base-currency differences between rates

ACCOUNTS = (
    CASH,
    PLEDGES_RECEIVABLE,
    CONTRIBUTIONS_PLEDGED,
    CONTRIBUTIONS_UNPLEDGED,
    COMMITMENTS,
    COMMITMENT_RESERVE,
    DISBURSEMENTS,
    FX_DIFFERENCES,
)


# The entries whose cash lines are money received from donors, less transfers
# returned to them: what every report calls "received" (fund position, pledge
# tracker), defined once.
RECEIVED_KINDS = ("contribution", "contribution_reversal")


class UnbalancedEntry(AssertionError):
    """A programming error: an entry whose debits and credits differ."""


@dataclass(frozen=True)
class Line:
    account: str
    currency: str
    amount_minor: int
    base_amount_minor: int
    dimensions: dict[str, Any] | None = None


# Into the table, not the mapped class: the ORM's bulk insert costs more than the
# statement (about 0.3 ms a call here, docs/benchmarks.md) and nothing reads the
# lines back as objects.
_INSERT_LINE = insert(JournalLine.__table__)  # type: ignore[arg-type]


def post_entry(
    session: Session,
    *,
    fund_id: int,
    kind: str,
    value_date: dt.date,
    memo: str,
    source: tuple[str, int],
    lines: list[Line],
    actor: Actor | None,
    reverses_id: int | None = None,
    dates: tuple[str | None, dt.date | None] | None = None,
) -> JournalEntry:
    """Append one entry, or refuse it and write nothing. It must balance per
    currency and in base currency; its value date must lie between the fund's
    opening date and the horizon (``assert_value_date_sane``), in an open period
    (``assert_period_open``); and it must not leave the fund's free cash negative
    on its value date or any later date (``assert_free_cash_holds``).

    ``dates``: the closed period that holds the value date and the fund's opening
    date, if the caller read them already (a payment reads them with its lock);
    otherwise one statement reads both."""
    per_currency: dict[str, int] = defaultdict(int)
    base_total = 0
    for line in lines:
        if line.account not in ACCOUNTS:
            raise UnbalancedEntry(f"unknown account {line.account}")
        per_currency[line.currency] += line.amount_minor
        base_total += line.base_amount_minor
    if any(per_currency.values()) or base_total:
        raise UnbalancedEntry(f"{kind} entry does not balance: {dict(per_currency)}, {base_total}")
    if dates is None:
        found = session.execute(_entry_dates(), {"fund_id": fund_id, "value_date": value_date})
        closed, opens_on = found.one()
    else:
        closed, opens_on = dates
    assert_value_date_sane(value_date, opens_on=opens_on)
    assert_period_open(fund_id, value_date, closed)
    lowered = -sum(FREE_CASH_SIGNS.get(line.account, 0) * line.base_amount_minor for line in lines)
    if lowered > 0:
        assert_free_cash_holds(session, fund_id, value_date, lowered)
    entry = insert_row(
        session,
        JournalEntry,
        {
            "fund_id": fund_id,
            "kind": kind,
            "value_date": value_date,
            "memo": memo[:500],
            "source_type": source[0],
            "source_id": source[1],
            "reverses_id": reverses_id,
            "created_by": actor.id if actor else None,
            "created_at": utcnow(),
        },
    )
    rows = [
        {
            "entry_id": entry.id,
            "fund_id": fund_id,
            "value_date": value_date,
            "kind": kind,
            "account": line.account,
            "currency": line.currency,
            "amount_minor": line.amount_minor,
            "base_amount_minor": line.base_amount_minor,
            **(line.dimensions or {}),
        }
        for line in lines
        if line.amount_minor or line.base_amount_minor
    ]
    if rows:
        # One INSERT for the lines, without the unit of work (nothing reads them back
        # as objects here; ``entry.lines`` loads them when asked). Lines with the same
        # dimension keys go in one statement.
        for keys in dict.fromkeys(tuple(row) for row in rows):
            session.execute(_INSERT_LINE, [row for row in rows if tuple(row) == keys])
    return entry


def assert_value_date_sane(
    value_date: dt.date, *, opens_on: dt.date | None = None, field: str = "value_date"
) -> None:
    """Refuse a value date the fund's books cannot hold: before the fund's opening
    date ``opens_on`` (or, for a fund without one, ``VALUE_DATE_EARLIEST``, a fixed
    lower bound) or more than ``VALUE_DATE_HORIZON_DAYS`` after today. Every entry
    passes here: pledges, contributions, payments, batches, reversals."""
    from flask import current_app, has_app_context

    from ledger.errors import ValidationFailed

    earliest, horizon = dt.date(2000, 1, 1), 31
    if has_app_context():
        earliest = dt.date.fromisoformat(str(current_app.config["VALUE_DATE_EARLIEST"]))
        horizon = int(current_app.config["VALUE_DATE_HORIZON_DAYS"])
    latest = utcnow().date() + dt.timedelta(days=horizon)
    if opens_on is not None and value_date < opens_on:
        raise ValidationFailed(
            field,
            f"{value_date.isoformat()} is before the fund opened ({opens_on.isoformat()}): "
            "no entry of the fund is dated before its opening date.",
        )
    if not earliest <= value_date <= latest:
        raise ValidationFailed(
            field,
            f"{value_date.isoformat()} is outside the dates the books hold: "
            f"{earliest.isoformat()} to {latest.isoformat()} ({horizon} days from today).",
        )


# Free cash: the fund's cash less its outstanding commitments, in base currency.
# An entry that lowers it (a commitment, money returned to a donor) is checked as
# of its value date and every later date; a payment lowers cash and its
# commitment alike, and so leaves it as it is.
FREE_CASH_SIGNS = {CASH: 1, COMMITMENTS: -1}


@functools.cache
def _free_cash_floor() -> sa.Select[Any]:
    """The fund's free cash on ``:value_date``, the lowest it stands on any later
    date that moved it (None: none did), and the fund's base currency."""
    from ledger.funding.models import Fund

    lines = JournalLine.__table__.c
    amount = lines.base_amount_minor
    moved = sa.case((lines.account == CASH, amount), else_=-amount)
    daily = (
        select(lines.value_date, sa.func.sum(moved).label("moved"))
        .where(lines.fund_id == sa.bindparam("fund_id"), lines.account.in_(list(FREE_CASH_SIGNS)))
        .group_by(lines.value_date)
        .cte("daily")
    )
    running = select(
        daily.c.value_date,
        sa.func.sum(daily.c.moved).over(order_by=daily.c.value_date).label("balance"),
    ).cte("running")
    value_date = sa.bindparam("value_date", type_=sa.Date())
    return select(
        select(sa.func.coalesce(sa.func.sum(daily.c.moved), 0))
        .where(daily.c.value_date <= value_date)
        .scalar_subquery(),
        select(sa.func.min(running.c.balance))
        .where(running.c.value_date > value_date)
        .scalar_subquery(),
        Fund.base_currency,
    ).where(Fund.id == sa.bindparam("fund_id"))


def assert_free_cash_holds(
    session: Session, fund_id: int, value_date: dt.date, lowered_minor: int
) -> None:
    """Refuse an entry that lowers the fund's free cash by ``lowered_minor`` (base
    currency) if that leaves it negative on ``value_date`` or on any later date: a
    report as of any date never shows cash the fund did not hold."""
    from ledger.errors import InsufficientFunds

    on_date, lowest_later, currency = session.execute(
        _free_cash_floor(), {"fund_id": fund_id, "value_date": value_date}
    ).one()
    floor = int(on_date) if lowest_later is None else min(int(on_date), int(lowest_later))
    if floor - lowered_minor < 0:
        held, lowered = Money(floor, currency), Money(lowered_minor, currency)
        raise InsufficientFunds(
            f"This entry lowers the fund's free cash (cash less outstanding commitments) "
            f"by {lowered} {currency}; the fund holds {held} {currency} free on "
            f"{value_date.isoformat()} or after: it would go negative as of that date.",
            errors={"value_date": ["The fund's free cash would be negative as of this date."]},
            available=str(held),
        )


@functools.cache
def _entry_dates() -> sa.Select[Any]:
    """What dates an entry of ``:fund_id`` may take: the closed period that holds
    ``:value_date`` (``closed_period``) and the fund's opening date, one statement."""
    from ledger.funding.models import Fund

    value_date = sa.bindparam("value_date", type_=sa.Date())
    return select(closed_period(sa.bindparam("fund_id"), value_date), Fund.opens_on).where(
        Fund.id == sa.bindparam("fund_id")
    )


def closed_period(fund_id: Any, value_date: Any) -> sa.ScalarSelect[Any]:
    """The name of the latest closed period of ``fund_id`` that ends on or after
    ``value_date``, as a column a caller's own statement can carry (a payment's
    lock does); None: the date is open."""
    from ledger.funding.models import ClosedPeriod

    return (
        select(ClosedPeriod.period)
        .where(ClosedPeriod.fund_id == fund_id, ClosedPeriod.ends_on >= value_date)
        .order_by(ClosedPeriod.ends_on.desc())
        .limit(1)
        .scalar_subquery()
    )


def assert_period_open(fund_id: int, value_date: dt.date, closed: str | None) -> None:
    """Refuse a value date on or before the end of a closed period (``closed``, as
    ``closed_period`` found it): a report as of such a date never changes.
    Corrections go in the open period and point back. Closing a period closes every
    date up to its end, earlier months included."""
    from ledger.errors import PeriodClosed

    if closed is not None:
        raise PeriodClosed(
            f"{value_date.isoformat()} is on or before the end of {closed}, which is "
            f"closed for fund {fund_id} (a close closes every date up to its end); date the "
            "entry in an open period (a correction points back to what it corrects).",
            errors={"value_date": [f"Period {closed} is closed."]},
        )


def reverse_entry(
    session: Session,
    original: JournalEntry,
    *,
    kind: str,
    value_date: dt.date,
    memo: str,
    source: tuple[str, int],
    actor: Actor | None,
    accounts: frozenset[str] | None = None,
) -> JournalEntry:
    """A new entry with ``original``'s lines negated (only those on ``accounts`` if
    given), pointing back at it. The original is never touched. It is not dated
    before the original: as of a date in between, the books would show money
    returned that had not yet come or gone."""
    if value_date < original.value_date:
        from ledger.errors import ValidationFailed

        raise ValidationFailed(
            "value_date",
            f"{value_date.isoformat()} is before {original.value_date.isoformat()}, the date "
            f"of what it reverses (entry {original.id}): a return is dated on or after it.",
        )
    lines = [
        Line(
            line.account,
            line.currency,
            -line.amount_minor,
            -line.base_amount_minor,
            {
                "donor_id": line.donor_id,
                "pledge_id": line.pledge_id,
                "project_id": line.project_id,
                "payee_id": line.payee_id,
                "spending_request_id": line.spending_request_id,
            },
        )
        for line in original.lines
        if accounts is None or line.account in accounts
    ]
    return post_entry(
        session,
        fund_id=original.fund_id,
        kind=kind,
        value_date=value_date,
        memo=memo,
        source=source,
        lines=lines,
        actor=actor,
        reverses_id=original.id,
    )


def pair(
    debit: str,
    credit: str,
    currency: str,
    amount_minor: int,
    base_amount_minor: int,
    dimensions: dict[str, Any] | None = None,
) -> list[Line]:
    """Debit one account and credit another with the same amount."""
    return [
        Line(debit, currency, amount_minor, base_amount_minor, dimensions),
        Line(credit, currency, -amount_minor, -base_amount_minor, dimensions),
    ]


@dataclass(frozen=True)
class BalanceRow:
    account: str
    currency: str
    debit_minor: int
    credit_minor: int
    base_debit_minor: int
    base_credit_minor: int


def trial_balance(session: Session, fund_id: int, as_of: dt.date | None) -> list[BalanceRow]:
    """Debit and credit totals per account and currency, computed in the database."""
    line = JournalLine
    stmt = (
        select(
            line.account,
            line.currency,
            sa.func.coalesce(
                sa.func.sum(sa.case((line.amount_minor > 0, line.amount_minor), else_=0)), 0
            ),
            sa.func.coalesce(
                sa.func.sum(sa.case((line.amount_minor < 0, -line.amount_minor), else_=0)), 0
            ),
            sa.func.coalesce(
                sa.func.sum(sa.case((line.base_amount_minor > 0, line.base_amount_minor), else_=0)),
                0,
            ),
            sa.func.coalesce(
                sa.func.sum(
                    sa.case((line.base_amount_minor < 0, -line.base_amount_minor), else_=0)
                ),
                0,
            ),
        )
        .where(line.fund_id == fund_id)
        .group_by(line.account, line.currency)
        .order_by(line.account, line.currency)
    )
    if as_of is not None:
        stmt = stmt.where(line.value_date <= as_of)
    # SUM of a BIGINT is NUMERIC on PostgreSQL: bring it back to int, exactly.
    return [BalanceRow(row[0], row[1], *(int(v) for v in row[2:])) for row in session.execute(stmt)]
