"""Reports computed from the journal in the database (aggregates, not row loops)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.funding.models import Fund
from ledger.journal import services as j
from ledger.journal.models import JournalLine
from ledger.money import Money, format_minor, minor_units

if TYPE_CHECKING:
    from flask import Response

    from ledger.reports.registry import ReportParams

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


@dataclass(frozen=True)
class ReportFile:
    """A report in one format, as it is served: its bytes, media type and, but for
    JSON, the file name it is downloaded as."""

    body: bytes
    media_type: str
    filename: str | None

    def response(self) -> Response:
        from flask import Response

        answer = Response(self.body, mimetype=self.media_type)
        if self.filename is not None:
            answer.headers["Content-Disposition"] = f'attachment; filename="{self.filename}"'
        return answer


def report_file(session: Session, name: str, fmt: str, params: ReportParams) -> ReportFile:
    """Report ``name`` (the registry's) in ``fmt`` (one of ``formats.FORMATS``): the
    API's ``GET /reports/{name}`` and the console's downloads both serve this."""
    from ledger.reports.formats import MEDIA_TYPES, filename, render
    from ledger.reports.registry import build, get_report

    get_report(name)  # an unknown name is a 404 before anything else
    data = build(session, name, params)
    return ReportFile(
        render(data, fmt), MEDIA_TYPES[fmt], None if fmt == "json" else filename(data, fmt)
    )


def trial_balance_report(session: Session, fund: Fund, as_of: dt.date | None) -> dict[str, Any]:
    """Debits and credits per account and currency, their totals, and whether they
    balance: the JSON of ``GET /reports/trial-balance``."""
    rows = j.trial_balance(session, fund.id, as_of)
    base_digits = minor_units(fund.base_currency)
    totals: dict[str, dict[str, str]] = {}
    sums: dict[str, list[int]] = {}
    for r in rows:
        sums.setdefault(r.currency, [0, 0])
        sums[r.currency][0] += r.debit_minor
        sums[r.currency][1] += r.credit_minor
    base_debit = sum(r.base_debit_minor for r in rows)
    base_credit = sum(r.base_credit_minor for r in rows)
    for currency, (debit, credit) in sums.items():
        digits = minor_units(currency)
        totals[currency] = {
            "debit": format_minor(debit, digits),
            "credit": format_minor(credit, digits),
        }
    totals["base"] = {
        "debit": format_minor(base_debit, base_digits),
        "credit": format_minor(base_credit, base_digits),
    }
    return {
        "fund_id": fund.id,
        "base_currency": fund.base_currency,
        "as_of": as_of,
        "rows": [
            {
                "account": r.account,
                "currency": r.currency,
                "debit": format_minor(r.debit_minor, minor_units(r.currency)),
                "credit": format_minor(r.credit_minor, minor_units(r.currency)),
                "base_debit": format_minor(r.base_debit_minor, base_digits),
                "base_credit": format_minor(r.base_credit_minor, base_digits),
            }
            for r in rows
        ],
        "totals": totals,
        "balanced": base_debit == base_credit and all(d == c for d, c in sums.values()),
    }
