"""Reports computed from the journal in the database (aggregates, not row loops)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.funding.models import Fund
from ledger.journal import services as j
from ledger.journal.models import JournalLine
from ledger.money import Money

FIGURES = (
    "pledged",
    "received",
    "outstanding_pledges",
    "committed",
    "disbursed",
    "committed_not_disbursed",
    "cash",
)


def _figures(sums: dict[tuple[str, str], int]) -> dict[str, int]:
    """The fund-position figures from per-(account, kind) sums of one currency or base."""

    def account(name: str) -> int:
        return sum(v for (acc, _kind), v in sums.items() if acc == name)

    committed_open = account(j.COMMITMENTS)
    disbursed = account(j.DISBURSEMENTS)
    return {
        "pledged": -account(j.CONTRIBUTIONS_PLEDGED),
        # Money in, less transfers returned to donors.
        "received": sum(sums.get((j.CASH, kind), 0) for kind in j.RECEIVED_KINDS),
        "outstanding_pledges": account(j.PLEDGES_RECEIVABLE),
        "committed": committed_open + disbursed,
        "disbursed": disbursed,
        "committed_not_disbursed": committed_open,
        "cash": account(j.CASH),
    }


def fund_position(session: Session, fund: Fund, as_of: dt.date | None) -> dict[str, Any]:
    """Sources and uses of the fund's money as of a date, per currency and in base.

    ``available`` (base only) is cash not yet committed: what the committee can
    still commit."""
    line = JournalLine
    stmt = (
        select(
            line.account,
            line.kind,
            line.currency,
            sa.func.sum(line.amount_minor),
            sa.func.sum(line.base_amount_minor),
        )
        .where(line.fund_id == fund.id)
        .group_by(line.account, line.kind, line.currency)
    )
    if as_of is not None:
        stmt = stmt.where(line.value_date <= as_of)
    per_currency: dict[str, dict[tuple[str, str], int]] = defaultdict(dict)
    base: dict[tuple[str, str], int] = defaultdict(int)
    for account, kind, currency, amount, base_amount in session.execute(stmt):
        per_currency[currency][(account, kind)] = int(amount)
        base[(account, kind)] += int(base_amount)
    base_figures = _figures(base)
    base_figures["fx_differences"] = -sum(v for (a, _k), v in base.items() if a == j.FX_DIFFERENCES)
    base_figures["available"] = base_figures["cash"] - base_figures["committed_not_disbursed"]

    def money(figures: dict[str, int], currency: str) -> dict[str, str]:
        return {k: str(Money(v, currency)) for k, v in figures.items()}

    return {
        "fund_id": fund.id,
        "fund": fund.name,
        "base_currency": fund.base_currency,
        "as_of": as_of,
        "base": money(base_figures, fund.base_currency),
        "by_currency": [
            {"currency": c, **money(_figures(sums), c)} for c, sums in sorted(per_currency.items())
        ],
    }
