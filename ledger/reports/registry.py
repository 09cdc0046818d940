"""The registry of reports: name → query function + column spec.

One place decides what a report shows. A report's query (computed in the
database) yields rows of plain values, money as integer minor units; ``build``
turns them, once, into a ``ReportData``: exact ``Decimal`` amounts at the
currency's decimals, the totals rows the column spec asks for, and the context
every format prints (fund, as-of date, when, by whom, the audit chain head).
JSON, CSV, XLSX and PDF all render the same ``ReportData``, so they carry the
same numbers. Adding a report is one ``register(Report(...))`` call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.audit.models import AuditChainHead
from ledger.db import get_or_404, utcnow
from ledger.errors import NotFound, ValidationFailed
from ledger.funding.models import Fund
from ledger.money import minor_units

ColumnKind = Literal["text", "int", "date", "datetime", "money", "percent"]


@dataclass(frozen=True)
class Column:
    """One column. A ``money`` column's currency is the fund's base currency when
    ``currency`` is ``"base"``, else the value of the row's ``currency`` key.
    ``total`` columns are summed into the totals rows."""

    key: str
    title: str
    kind: ColumnKind = "text"
    currency: str | None = None
    total: bool = False
    # What a person reads for a code (a sector, a state): the PDF, the XLSX and the
    # charts show it; JSON and CSV keep the code, for machines.
    labels: Mapping[str, str] | None = None

    def shown(self, value: Any) -> Any:
        """``value`` as a person reads it: its label, if it has one."""
        if self.labels is None or not isinstance(value, str):
            return value
        return self.labels.get(value, value)


@dataclass(frozen=True)
class Chart:
    """A grouped bar chart for the PDF: ``series`` (money columns in base) summed
    per value of ``label``."""

    title: str
    label: str
    series: tuple[str, ...]
    # Only the rows whose ``only[0]`` is ``only[1]`` (the fund position's base row).
    only: tuple[str, str] | None = None


@dataclass(frozen=True)
class ReportParams:
    fund_id: int | None = None
    as_of: dt.date | None = None
    generated_by: str | None = None
    donor_id: int | None = None  # the donor trace: one donor's statement


@dataclass(frozen=True)
class QueryContext:
    """What a query function receives: the session and plain values."""

    session: Session
    fund: Fund | None
    as_of: dt.date | None
    donor_id: int | None = None

    @property
    def fund_id(self) -> int:
        assert self.fund is not None, "the registry checks needs_fund"
        return self.fund.id

    @property
    def before(self) -> dt.datetime | None:
        """The first instant after ``as_of`` (UTC), for timestamps."""
        if self.as_of is None:
            return None
        return dt.datetime.combine(self.as_of + dt.timedelta(days=1), dt.time(), dt.UTC)


QueryResult = tuple[Iterable[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Report:
    name: str
    title: str
    description: str
    columns: tuple[Column, ...]
    query: Callable[[QueryContext], QueryResult]
    needs_fund: bool = True
    # Totals rows: one per value of this key (e.g. per currency) for the
    # row-currency columns, then one grand total of the base-currency columns.
    total_by: str | None = None
    charts: tuple[Chart, ...] = ()
    landscape: bool = True
    # A page in plain words after the cover (PDF) and in the "About" sheet (XLSX):
    # how to read the figures.
    explanation: tuple[str, ...] = ()


@dataclass
class ReportData:
    report: Report
    fund_id: int | None
    fund_name: str | None
    base_currency: str | None
    as_of: dt.date | None
    generated_at: dt.datetime
    generated_by: str | None
    chain_head: tuple[int, str]
    rows: list[dict[str, Any]]
    totals: list[dict[str, Any]]
    notes: dict[str, Any] = field(default_factory=dict)
    # The latest signed checkpoint of the audit chain when the report was made:
    # (seq, hash, signed at), or None before the first.
    checkpoint: tuple[int, str, dt.datetime] | None = None

    @property
    def columns(self) -> tuple[Column, ...]:
        return self.report.columns

    def currency_of(self, column: Column, row: dict[str, Any]) -> str | None:
        if column.currency == "base":
            return self.base_currency
        if column.currency is not None:
            value = row.get(column.currency)
            return str(value) if value else None
        return None


REPORTS: dict[str, Report] = {}


def register(report: Report) -> Report:
    REPORTS[report.name] = report
    return report


def get_report(name: str) -> Report:
    """The registered report called ``name``, or a 404 that lists the known ones."""
    _load()
    try:
        return REPORTS[name]
    except KeyError:
        raise NotFound(
            f"No report named {name!r}. Reports: {', '.join(sorted(REPORTS))}.",
            errors={"name": [f"Must be one of: {', '.join(sorted(REPORTS))}."]},
        ) from None


def report_names() -> list[str]:
    _load()
    return sorted(REPORTS)


def _load() -> None:
    # The queries register themselves on import; imported lazily to keep the
    # registry free of import cycles.
    import ledger.reports.queries  # noqa: F401


def to_decimal(minor: int, currency: str | None) -> Decimal:
    """Exact: the integer of minor units shifted by the currency's decimals."""
    digits = minor_units(currency) if currency else 0
    return Decimal(minor).scaleb(-digits) if digits else Decimal(minor)


def percent(part: int, whole: int) -> Decimal | None:
    """``part / whole`` in per cent, to one decimal (half-even), exact."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def chain_head(session: Session) -> tuple[int, str]:
    head = session.execute(
        select(AuditChainHead.seq, AuditChainHead.hash).where(AuditChainHead.id == 1)
    ).one()
    return int(head[0]), str(head[1])


def latest_checkpoint(session: Session) -> tuple[int, str, dt.datetime] | None:
    from ledger.audit.models import AuditCheckpoint

    row = session.execute(
        select(AuditCheckpoint.seq, AuditCheckpoint.hash, AuditCheckpoint.signed_at)
        .order_by(AuditCheckpoint.seq.desc(), AuditCheckpoint.id.desc())
        .limit(1)
    ).first()
    return None if row is None else (int(row[0]), str(row[1]), row[2])


def build(session: Session, name: str, params: ReportParams) -> ReportData:
    """Run report ``name`` and shape it for every format: exact amounts, totals."""
    report = get_report(name)
    fund: Fund | None = None
    if params.fund_id is not None:
        fund = get_or_404(session, Fund, params.fund_id)
    elif report.needs_fund:
        raise ValidationFailed("fund_id", "Missing data for required field.")
    raw_rows, notes = report.query(QueryContext(session, fund, params.as_of, params.donor_id))
    data = ReportData(
        report=report,
        fund_id=fund.id if fund else None,
        fund_name=fund.name if fund else None,
        base_currency=fund.base_currency if fund else None,
        as_of=params.as_of,
        generated_at=utcnow().replace(microsecond=0),
        generated_by=params.generated_by,
        chain_head=chain_head(session),
        rows=[],
        totals=[],
        notes=notes,
        checkpoint=latest_checkpoint(session),
    )
    money = [c for c in report.columns if c.kind == "money"]
    summed = [c for c in money if c.total]
    per_key: dict[Any, dict[str, int]] = {}
    grand: dict[str, int] = {c.key: 0 for c in summed if c.currency == "base"}
    for raw in raw_rows:
        row = dict(raw)
        if summed:
            if report.total_by is not None:
                sums = per_key.setdefault(row[report.total_by], dict.fromkeys(_keys(summed), 0))
                for c in summed:
                    sums[c.key] += row[c.key] or 0
            for key in grand:
                grand[key] += row[key] or 0
        for c in money:
            if row.get(c.key) is not None:
                row[c.key] = to_decimal(int(row[c.key]), data.currency_of(c, row))
        data.rows.append(row)
    for value, sums in sorted(per_key.items(), key=lambda kv: str(kv[0])):
        total: dict[str, Any] = {"label": f"Total {value}", report.total_by or "": value}
        for c in summed:
            total[c.key] = to_decimal(sums[c.key], data.currency_of(c, total))
        data.totals.append(total)
    if grand and (report.total_by is None or len(per_key) != 1 or not _row_currency(summed)):
        label = "Total" if report.total_by is None else "Total, all currencies, in"
        total = {"label": f"{label} {data.base_currency or ''}".strip()}
        if report.total_by == "currency" and data.base_currency:
            total["currency"] = data.base_currency
        for key, value in grand.items():
            total[key] = to_decimal(value, data.base_currency)
        data.totals.append(total)
    return data


def _keys(columns: list[Column]) -> list[str]:
    return [c.key for c in columns]


def _row_currency(columns: list[Column]) -> bool:
    return any(c.currency not in (None, "base") for c in columns)
