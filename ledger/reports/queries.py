"""The reports of SPEC §6: each a query computed in the database, registered with
its columns. Amounts leave these functions as integer minor units; the registry
makes them exact decimals and totals them (``registry.build``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict
from decimal import Decimal
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select

from ledger.audit.models import AuditEvent
from ledger.audit.services import verify_chain
from ledger.auth.models import User
from ledger.committee.models import SpendingRequest, Vote
from ledger.compliance.models import Refusal, Restriction
from ledger.db import get_or_404
from ledger.disbursements.models import Disbursement
from ledger.funding.models import Donor, Pledge
from ledger.journal import services as j
from ledger.journal.models import JournalEntry, JournalLine
from ledger.payees.models import Payee
from ledger.projects.models import SECTOR_LABELS, Project
from ledger.reports.registry import (
    Chart,
    Column,
    QueryContext,
    QueryResult,
    Report,
    percent,
    register,
    to_decimal,
)
from ledger.reports.services import fund_position
from ledger.screening.models import ReviewCase

L = JournalLine


def _sum_if(condition: Any, value: Any) -> Any:
    """SUM(CASE WHEN condition THEN value ELSE 0 END), never NULL."""
    return sa.func.coalesce(sa.func.sum(sa.case((condition, value), else_=0)), 0)


def _lines(ctx: QueryContext, *columns: Any) -> sa.Select[Any]:
    stmt = select(*columns).where(L.fund_id == ctx.fund_id)
    if ctx.as_of is not None:
        stmt = stmt.where(L.value_date <= ctx.as_of)
    return stmt


def _money(c: str, title: str, currency: str = "currency", total: bool = True) -> Column:
    return Column(c, title, "money", currency, total)


def _base(c: str, title: str, total: bool = True) -> Column:
    return Column(c, title, "money", "base", total)


# Debit and credit, in the line's currency and in base: the trial balance's and the
# journal's money columns.
_DEBIT_CREDIT = (
    _money("debit", "Debit"),
    _money("credit", "Credit"),
    _base("base_debit", "Debit (base)"),
    _base("base_credit", "Credit (base)"),
)


# ---------------------------------------------------------------- fund position


def _in_words(*codes: str) -> dict[str, str]:
    """A state's code as a person reads it: review_case_opened, Review case opened."""
    return {code: code.replace("_", " ").capitalize() for code in codes}


POSITION_FIGURES = (
    ("pledged", "Pledged"),
    ("received", "Received"),
    ("outstanding_pledges", "Outstanding pledges"),
    ("committed", "Committed"),
    ("disbursed", "Disbursed"),
    ("committed_not_disbursed", "Committed, not disbursed"),
    ("cash", "Cash"),
)


def _fund_position(ctx: QueryContext) -> QueryResult:
    assert ctx.fund is not None
    position = fund_position(ctx.session, ctx.fund, ctx.as_of)
    rows: list[dict[str, Any]] = []

    def minor(text: str, currency: str) -> int:
        from ledger.money import Money

        return Money.parse(text, currency).minor

    for by in position["by_currency"]:
        c = by["currency"]
        rows.append(
            {"scope": "currency", "currency": c}
            | {k: minor(by[k], c) for k, _ in POSITION_FIGURES}
            | {"fx_differences": None, "available": None}
        )
    base, bc = position["base"], ctx.fund.base_currency
    rows.append(
        {"scope": "base (all currencies)", "currency": bc}
        | {k: minor(base[k], bc) for k, _ in POSITION_FIGURES}
        | {"fx_differences": minor(base["fx_differences"], bc)}
        | {"available": minor(base["available"], bc)}
    )
    return rows, {}


register(
    Report(
        name="fund-position",
        title="Fund position",
        description="Sources and uses of funds, per currency and in base currency.",
        columns=(
            Column("scope", "Scope"),
            Column("currency", "Currency"),
            *(_money(k, t, total=False) for k, t in POSITION_FIGURES),
            _money("fx_differences", "FX differences", total=False),
            _money("available", "Available", total=False),
        ),
        query=_fund_position,
        charts=(
            Chart(
                "Sources and uses of funds",
                "scope",
                ("received", "disbursed", "committed_not_disbursed", "available"),
                only=("scope", "base (all currencies)"),
            ),
        ),
    )
)


# ---------------------------------------------------------------- pledge tracker


def _pledge_tracker(ctx: QueryContext) -> QueryResult:
    is_pledged = L.account == j.CONTRIBUTIONS_PLEDGED
    is_received = sa.and_(L.account == j.CASH, L.kind.in_(j.RECEIVED_KINDS))
    is_outstanding = L.account == j.PLEDGES_RECEIVABLE
    stmt = (
        _lines(
            ctx,
            Donor.id,
            Donor.name,
            Donor.country,
            L.currency,
            _sum_if(is_pledged, -L.amount_minor),
            _sum_if(is_received, L.amount_minor),
            _sum_if(is_outstanding, L.amount_minor),
            _sum_if(is_pledged, -L.base_amount_minor),
            _sum_if(is_received, L.base_amount_minor),
            _sum_if(is_outstanding, L.base_amount_minor),
        )
        .join(Donor, Donor.id == L.donor_id)
        .where(L.account.in_((j.CONTRIBUTIONS_PLEDGED, j.CASH, j.PLEDGES_RECEIVABLE)))
        .group_by(Donor.id, Donor.name, Donor.country, L.currency)
        .order_by(Donor.name, Donor.id, L.currency)
    )
    earmarks = _earmarks(ctx)

    def rows() -> Iterator[dict[str, Any]]:
        for donor_id, name, country, currency, *sums in ctx.session.execute(stmt):
            p, r, o, bp, br, bo = (int(v) for v in sums)
            yield {
                "donor_id": donor_id,
                "donor": name,
                "country": country,
                "currency": currency,
                "pledged": p,
                "received": r,
                "outstanding": o,
                "base_pledged": bp,
                "base_received": br,
                "base_outstanding": bo,
                "fulfilled_pct": percent(br, bp),
                "earmarks": "; ".join(earmarks.get((donor_id, currency), [])),
            }

    return rows(), {}


def _earmarks(ctx: QueryContext) -> dict[tuple[int, str], list[str]]:
    """Each donor's earmarks, described: a few rows per donor, read as they are."""
    stmt = (
        select(
            Pledge.donor_id,
            Pledge.currency,
            Pledge.earmark_sector,
            Pledge.earmark_location,
            Project.name,
        )
        .outerjoin(Project, Project.id == Pledge.earmark_project_id)
        .where(
            Pledge.fund_id == ctx.fund_id,
            sa.or_(
                Pledge.earmark_sector.is_not(None),
                Pledge.earmark_location.is_not(None),
                Pledge.earmark_project_id.is_not(None),
            ),
        )
        .distinct()
    )
    if ctx.as_of is not None:
        stmt = stmt.where(Pledge.pledged_on <= ctx.as_of)
    found: dict[tuple[int, str], list[str]] = defaultdict(list)
    for donor_id, currency, sector, location, project in ctx.session.execute(stmt):
        parts = [
            f"{label}={value}"
            for label, value in (("sector", sector), ("location", location), ("project", project))
            if value
        ]
        found[(donor_id, currency)].append(", ".join(parts))
    return {k: sorted(v) for k, v in found.items()}


register(
    Report(
        name="pledge-tracker",
        title="Pledge tracker",
        description="Per donor and currency: pledged, received, outstanding, % fulfilled, "
        "earmarks.",
        columns=(
            Column("donor_id", "Donor id", "int"),
            Column("donor", "Donor"),
            Column("country", "Country"),
            Column("currency", "Currency"),
            _money("pledged", "Pledged"),
            _money("received", "Received"),
            _money("outstanding", "Outstanding"),
            _base("base_pledged", "Pledged (base)"),
            _base("base_received", "Received (base)"),
            _base("base_outstanding", "Outstanding (base)"),
            Column("fulfilled_pct", "% fulfilled", "percent"),
            Column("earmarks", "Earmarks"),
        ),
        query=_pledge_tracker,
        total_by="currency",
        charts=(
            Chart("Pledged and received per donor", "donor", ("base_pledged", "base_received")),
        ),
    )
)


# ---------------------------------------------------------------- budget execution

_GROUPINGS = {
    "project": "Budget execution by project",
    "sector": "Budget execution by sector",
    "location": "Budget execution by location",
}


def _budget_execution(ctx: QueryContext, by: str) -> QueryResult:
    per_project = (
        _lines(
            ctx,
            L.project_id.label("project_id"),
            _sum_if(L.account == j.COMMITMENTS, L.base_amount_minor).label("open"),
            _sum_if(L.account == j.DISBURSEMENTS, L.base_amount_minor).label("paid"),
        )
        .where(L.account.in_((j.COMMITMENTS, j.DISBURSEMENTS)), L.project_id.is_not(None))
        .group_by(L.project_id)
        .subquery()
    )
    open_, paid = sa.func.coalesce(per_project.c.open, 0), sa.func.coalesce(per_project.c.paid, 0)
    # A project shows once it exists as of the date, or once money moved for it.
    shown = Project.fund_id == ctx.fund_id
    if ctx.before is not None:
        shown = sa.and_(
            shown, sa.or_(per_project.c.project_id.is_not(None), Project.created_at < ctx.before)
        )
    keys: list[Any]
    if by == "project":
        keys = [Project.id, Project.name, Project.sector, Project.location]
        sums = [Project.budget_minor, open_, paid]
    else:
        keys = [getattr(Project, by)]
        sums = [sa.func.sum(Project.budget_minor), sa.func.sum(open_), sa.func.sum(paid)]
    stmt = (
        select(*keys, *sums)
        .select_from(Project)
        .outerjoin(per_project, per_project.c.project_id == Project.id)
        .where(shown)
        .order_by(*keys)
    )
    if by != "project":
        stmt = stmt.group_by(*keys)

    def rows() -> Iterator[dict[str, Any]]:
        for row in ctx.session.execute(stmt):
            *labels, budget, open_minor, paid_minor = row
            open_minor, paid_minor = int(open_minor), int(paid_minor)
            committed = open_minor + paid_minor
            budget = None if budget is None else int(budget)
            out: dict[str, Any] = dict(zip([k.key for k in keys], labels, strict=True))
            if by == "project":
                out = {
                    "project_id": labels[0],
                    "project": labels[1],
                    "sector": labels[2],
                    "location": labels[3],
                }
            yield out | {
                "budget": budget,
                "committed": committed,
                "disbursed": paid_minor,
                "committed_not_disbursed": open_minor,
                "budget_remaining": None if budget is None else budget - committed,
                "disbursed_pct": percent(paid_minor, committed),
            }

    return rows(), {}


_EXECUTION_FIGURES = (
    _base("budget", "Budget", total=False),
    _base("committed", "Committed"),
    _base("disbursed", "Disbursed"),
    _base("committed_not_disbursed", "Committed, not disbursed"),
    _base("budget_remaining", "Budget remaining", total=False),
    Column("disbursed_pct", "% disbursed", "percent"),
)

for _by, _title in _GROUPINGS.items():
    _labels: tuple[Column, ...]
    if _by == "project":
        _labels = (
            Column("project_id", "Project id", "int"),
            Column("project", "Project"),
            Column("sector", "Sector", labels=SECTOR_LABELS),
            Column("location", "Location"),
        )
    else:
        _labels = (
            Column(_by, _by.capitalize(), labels=SECTOR_LABELS if _by == "sector" else None),
        )
    _charts = tuple(
        Chart(f"Committed and disbursed per {label}", label, ("committed", "disbursed"))
        for label in (("sector", "location") if _by == "project" else (_by,))
    )
    register(
        Report(
            name="budget-execution" if _by == "project" else f"budget-execution-by-{_by}",
            title=_title,
            description=f"Per {_by}, in base currency: committed, disbursed and budget.",
            columns=(*_labels, *_EXECUTION_FIGURES),
            query=partial(_budget_execution, by=_by),
            charts=_charts,
        )
    )


# ---------------------------------------------------------------- payee ledger


def _payee_ledger(ctx: QueryContext) -> QueryResult:
    D, E = Disbursement, JournalEntry
    # Payments, and payments returned by the bank as rows of their own (negative, on
    # the return's value date), so the ledger's total is what was paid, net.
    payments = select(
        D.payee_id,
        D.id.label("disbursement_id"),
        D.paid_on.label("on"),
        sa.literal(0).label("is_return"),
        D.reference,
        D.spending_request_id,
        D.currency,
        D.amount_minor.label("amount"),
        D.base_amount_minor.label("base"),
        D.screening,
    ).where(D.fund_id == ctx.fund_id)
    returns = (
        select(
            D.payee_id,
            D.id,
            E.value_date,
            sa.literal(1),
            D.reference,
            D.spending_request_id,
            D.currency,
            -D.amount_minor,
            -D.base_amount_minor,
            D.screening,
        )
        .join(E, sa.and_(E.source_type == "disbursement", E.source_id == D.id))
        .where(D.fund_id == ctx.fund_id, E.kind == "disbursement_reversal")
    )
    u = sa.union_all(payments, returns).subquery()
    # The payee's running total, by the database (a window function).
    running = sa.func.sum(u.c.base).over(
        partition_by=u.c.payee_id, order_by=(u.c.on, u.c.disbursement_id, u.c.is_return)
    )
    stmt = (
        select(
            Payee.id,
            Payee.name,
            u.c.disbursement_id,
            u.c.on,
            u.c.reference,
            Project.name,
            u.c.spending_request_id,
            u.c.currency,
            u.c.amount,
            u.c.base,
            running,
            u.c.screening,
            u.c.is_return,
        )
        .join(Payee, Payee.id == u.c.payee_id)
        .join(SpendingRequest, SpendingRequest.id == u.c.spending_request_id)
        .join(Project, Project.id == SpendingRequest.project_id)
        .order_by(Payee.name, Payee.id, u.c.on, u.c.disbursement_id, u.c.is_return)
    )
    if ctx.as_of is not None:
        stmt = stmt.where(u.c.on <= ctx.as_of)

    def rows() -> Iterator[dict[str, Any]]:
        for r in ctx.session.execute(stmt.execution_options(yield_per=5000)):
            screening = r[11] or {}
            restrictions = screening.get("restrictions") or []
            yield {
                "payee_id": r[0],
                "payee": r[1],
                "disbursement_id": r[2],
                "paid_on": r[3],
                "reference": f"returned: {r[4]}" if r[12] else r[4],
                "project": r[5],
                "spending_request_id": r[6],
                "currency": r[7],
                "amount": int(r[8]),
                "base_amount": int(r[9]),
                "payee_running_base": int(r[10]),
                "screening_state": screening.get("state", "unknown"),
                "screened_at": screening.get("checked_at"),
                "screening_restrictions": len(restrictions),
            }

    return rows(), {}


register(
    Report(
        name="payee-ledger",
        title="Payee ledger",
        description="Every payment per payee, with the payee's screening state at the "
        "moment of payment.",
        columns=(
            Column("payee_id", "Payee id", "int"),
            Column("payee", "Payee"),
            Column("disbursement_id", "Disbursement id", "int"),
            Column("paid_on", "Paid on", "date"),
            Column("reference", "Reference"),
            Column("project", "Project"),
            Column("spending_request_id", "Request id", "int"),
            Column("currency", "Currency"),
            _money("amount", "Amount"),
            _base("base_amount", "Amount (base)"),
            _base("payee_running_base", "Payee running total (base)", total=False),
            Column("screening_state", "Screening at payment", labels=_in_words("clear")),
            Column("screened_at", "Screened at"),
            Column("screening_restrictions", "Restrictions at payment", "int"),
        ),
        query=_payee_ledger,
        total_by="currency",
    )
)


# ---------------------------------------------------------------- restricted-party exceptions


def _case_in_words(score: str, evidence: dict[str, Any]) -> str:
    """A review case as a reader needs it: which of the payee's names matched which
    listed party, on which list, version and programme (not an entry's row id)."""
    listed = evidence.get("listed") or {}
    name = listed.get("name") or evidence.get("entry_name") or "?"
    programmes = listed.get("programmes") or evidence.get("programmes") or []
    version = listed.get("list_version") or evidence.get("list_version")
    where = f"{evidence.get('list', '?')} list" + (f", version {version}" if version else "")
    if programmes:
        where += f", programme {', '.join(programmes)}"
    if evidence.get("source_key"):
        where += f" ({evidence['source_key']})"
    via = evidence.get("entry_name")
    as_named = f" as '{via}'" if via and via != name else ""
    return (
        f"'{evidence.get('query_name', '?')}' matched {name}{as_named} on the {where}: "
        f"score {score}"
    )


def _exceptions(ctx: QueryContext) -> QueryResult:
    """Every refused attempt, every restriction set or lifted, every review case
    opened and resolved (with its disposition), in time order.

    Each kind of exception is one SELECT of the same columns, joined by UNION
    ALL: a new kind is one more SELECT in ``sources``."""
    actor = sa.orm.aliased(User)
    columns = ("occurred_at", "event", "payee_id", "payee", "code", "detail", "by", "ref_id")

    def source(
        when: Any, event: str, payee_id: Any, code: Any, detail: Any, by: Any, ref: Any
    ) -> sa.Select[Any]:
        return (
            select(
                when.label("occurred_at"),
                sa.literal(event, sa.String).label("event"),
                payee_id.label("payee_id"),
                Payee.name.label("payee"),
                sa.cast(code, sa.String).label("code"),
                sa.cast(detail, sa.String).label("detail"),
                actor.name.label("by"),
                ref.label("ref_id"),
            )
            .outerjoin(Payee, Payee.id == payee_id)
            .outerjoin(actor, actor.id == by)
        )

    refused = source(
        Refusal.occurred_at,
        "refused_attempt",
        Refusal.payee_id,
        Refusal.code,
        Refusal.detail,
        Refusal.actor_id,
        Refusal.spending_request_id,
    ).select_from(Refusal)
    if ctx.fund is not None:
        in_fund = select(SpendingRequest.id).where(SpendingRequest.fund_id == ctx.fund.id)
        refused = refused.where(
            sa.or_(Refusal.spending_request_id.is_(None), Refusal.spending_request_id.in_(in_fund))
        )
    set_ = source(
        Restriction.set_at,
        "restriction_set",
        Restriction.payee_id,
        Restriction.source,
        Restriction.reason,
        Restriction.set_by,
        Restriction.id,
    ).select_from(Restriction)
    lifted = (
        source(
            Restriction.lifted_at,
            "restriction_lifted",
            Restriction.payee_id,
            Restriction.source,
            Restriction.lift_reason,
            Restriction.lifted_by,
            Restriction.id,
        )
        .select_from(Restriction)
        .where(Restriction.lifted_at.is_not(None))
    )
    opened = source(
        ReviewCase.opened_at,
        "review_case_opened",
        ReviewCase.payee_id,
        ReviewCase.kind,
        sa.literal("score ", sa.String)
        + ReviewCase.score
        + " against watchlist entry "
        + sa.cast(ReviewCase.entry_id, sa.String),
        ReviewCase.opened_by,
        ReviewCase.id,
    ).select_from(ReviewCase)
    resolved = (
        source(
            ReviewCase.resolved_at,
            "review_case_resolved",
            ReviewCase.payee_id,
            ReviewCase.status,
            ReviewCase.resolution_reason,
            ReviewCase.resolved_by,
            ReviewCase.id,
        )
        .select_from(ReviewCase)
        .where(ReviewCase.resolved_at.is_not(None))
    )
    sources: list[tuple[sa.Select[Any], Any]] = [
        (refused, Refusal.occurred_at),
        (set_, Restriction.set_at),
        (lifted, Restriction.lifted_at),
        (opened, ReviewCase.opened_at),
        (resolved, ReviewCase.resolved_at),
    ]
    if ctx.before is not None:
        sources = [(s.where(when < ctx.before), when) for s, when in sources]
    union = sa.union_all(*(s for s, _ in sources)).subquery()
    stmt = select(*(union.c[c] for c in columns)).order_by(
        union.c.occurred_at, union.c.event, union.c.ref_id
    )
    counts: dict[str, int] = defaultdict(int)

    def rows() -> Iterator[dict[str, Any]]:
        from ledger.db import UTCDateTime

        as_utc = UTCDateTime().process_result_value
        # What each opened case matched, named in words (its evidence), read at once.
        cases = select(ReviewCase.id, ReviewCase.score, ReviewCase.evidence)
        if ctx.before is not None:
            cases = cases.where(ReviewCase.opened_at < ctx.before)
        matched = {
            case_id: _case_in_words(score, evidence or {})
            for case_id, score, evidence in ctx.session.execute(cases)
        }
        for r in ctx.session.execute(stmt):
            row = dict(zip(columns, r, strict=True))
            if row["event"] == "review_case_opened" and row["ref_id"] in matched:
                row["detail"] = matched[row["ref_id"]]
            # Through UNION ALL the column type is lost on SQLite: make it UTC-aware.
            if row["occurred_at"] is not None and not isinstance(row["occurred_at"], str):
                row["occurred_at"] = as_utc(row["occurred_at"], ctx.session.get_bind().dialect)
            counts[row["event"]] += 1
            yield row

    return rows(), {"counts": counts}


register(
    Report(
        name="restricted-party-exceptions",
        title="Restricted-party exceptions",
        description="Every refused attempt, every review case and its disposition, every "
        "restriction set and lifted.",
        columns=(
            Column("occurred_at", "When", "datetime"),
            Column(
                "event",
                "Event",
                labels=_in_words(
                    "refused_attempt",
                    "restriction_set",
                    "restriction_lifted",
                    "review_case_opened",
                    "review_case_resolved",
                ),
            ),
            Column("payee_id", "Payee id", "int"),
            Column("payee", "Payee"),
            Column("code", "Code / source"),
            Column("detail", "Detail / reason"),
            Column("by", "By"),
            Column("ref_id", "Request / restriction id", "int"),
        ),
        query=_exceptions,
        needs_fund=False,
    )
)


# ---------------------------------------------------------------- trial balance and journal


def _trial_balance(ctx: QueryContext) -> QueryResult:
    rows: list[dict[str, Any]] = [
        {
            "account": r.account,
            "currency": r.currency,
            "debit": r.debit_minor,
            "credit": r.credit_minor,
            "base_debit": r.base_debit_minor,
            "base_credit": r.base_credit_minor,
        }
        for r in j.trial_balance(ctx.session, ctx.fund_id, ctx.as_of)
    ]
    by_currency: dict[str, int] = defaultdict(int)
    for r in rows:
        by_currency[r["currency"]] += r["debit"] - r["credit"]
    base: int = sum(r["base_debit"] - r["base_credit"] for r in rows)
    return rows, {"balanced": base == 0 and not any(by_currency.values())}


register(
    Report(
        name="trial-balance",
        title="Trial balance",
        description="Debits and credits per account and currency; they balance at every instant.",
        columns=(
            Column("account", "Account"),
            Column("currency", "Currency"),
            *_DEBIT_CREDIT,
        ),
        query=_trial_balance,
        total_by="currency",
    )
)


def _journal(ctx: QueryContext) -> QueryResult:
    E = JournalEntry
    stmt = (
        _lines(
            ctx,
            E.id,
            L.value_date,
            E.kind,
            E.memo,
            L.id,
            L.account,
            L.currency,
            L.amount_minor,
            L.base_amount_minor,
        )
        .join(E, E.id == L.entry_id)
        .order_by(L.value_date, E.id, L.id)
    )

    def rows() -> Iterator[dict[str, Any]]:
        for r in ctx.session.execute(stmt.execution_options(yield_per=10000)):
            amount, base = int(r[7]), int(r[8])
            yield {
                "entry_id": r[0],
                "value_date": r[1],
                "kind": r[2],
                "memo": r[3],
                "line_id": r[4],
                "account": r[5],
                "currency": r[6],
                "debit": max(amount, 0),
                "credit": max(-amount, 0),
                "base_debit": max(base, 0),
                "base_credit": max(-base, 0),
            }

    return rows(), {}


register(
    Report(
        name="journal",
        title="Journal",
        description="Every journal line, by value date and entry.",
        columns=(
            Column("entry_id", "Entry", "int"),
            Column("value_date", "Value date", "date"),
            Column("kind", "Kind"),
            Column("memo", "Memo"),
            Column("line_id", "Line", "int"),
            Column("account", "Account"),
            Column("currency", "Currency"),
            *_DEBIT_CREDIT,
        ),
        query=_journal,
        total_by="currency",
    )
)


# ---------------------------------------------------------------- decisions register


def _decisions(ctx: QueryContext) -> QueryResult:
    R = SpendingRequest
    votes = (
        select(
            Vote.spending_request_id.label("rid"),
            sa.func.count().filter(Vote.decision == "approve").label("approvals"),
            sa.func.count().filter(Vote.decision == "reject").label("rejections"),
            sa.func.aggregate_strings(Vote.institution, ",").label("institutions"),
        )
        .group_by(Vote.spending_request_id)
        .subquery()
    )
    stmt = (
        select(
            R.id,
            R.decided_at,
            R.status,
            Project.name,
            Payee.name,
            R.currency,
            # What was decided, in its currency and in base (both as of the decision:
            # a later decrease changes what stands, not what was decided).
            R.requested_minor,
            R.base_amount_minor,
            R.tier,
            R.policy_version,
            sa.func.coalesce(votes.c.approvals, 0),
            sa.func.coalesce(votes.c.rejections, 0),
            votes.c.institutions,
        )
        .join(Project, Project.id == R.project_id)
        .join(Payee, Payee.id == R.payee_id)
        .outerjoin(votes, votes.c.rid == R.id)
        .where(R.fund_id == ctx.fund_id, R.status != "pending", R.decided_at.is_not(None))
        .order_by(R.decided_at, R.id)
    )
    if ctx.before is not None:
        stmt = stmt.where(R.decided_at < ctx.before)

    def rows() -> Iterator[dict[str, Any]]:
        for r in ctx.session.execute(stmt):
            yield {
                "request_id": r[0],
                "decided_at": r[1],
                "outcome": r[2],
                "project": r[3],
                "payee": r[4],
                "currency": r[5],
                "amount": int(r[6]),
                "base_amount": int(r[7]),
                "tier": r[8],
                "policy_version": r[9],
                "approvals": int(r[10]),
                "rejections": int(r[11]),
                "institutions": ", ".join(sorted(set((r[12] or "").split(",")) - {""})),
            }

    return rows(), {}


register(
    Report(
        name="decisions-register",
        title="Decisions register",
        description="Every decided spending request: outcome, tier, policy version, votes.",
        columns=(
            Column("request_id", "Request id", "int"),
            Column("decided_at", "Decided at", "datetime"),
            Column(
                "outcome",
                "Outcome",
                labels=_in_words("approved", "rejected", "expired", "withdrawn", "cancelled"),
            ),
            Column("project", "Project"),
            Column("payee", "Payee"),
            Column("currency", "Currency"),
            _money("amount", "Amount decided", total=False),
            _base("base_amount", "Amount decided (base)", total=False),
            Column("tier", "Tier"),
            Column("policy_version", "Policy version"),
            Column("approvals", "Approvals", "int"),
            Column("rejections", "Rejections", "int"),
            Column("institutions", "Institutions voting"),
        ),
        query=_decisions,
    )
)


# ---------------------------------------------------------------- audit trail


def _audit_trail(ctx: QueryContext) -> QueryResult:
    A = AuditEvent
    stmt = select(
        A.seq, A.occurred_at, A.actor_name, A.action, A.entity_type, A.entity_id, A.hash
    ).order_by(A.seq)
    if ctx.before is not None:
        stmt = stmt.where(A.occurred_at < ctx.before)
    verification = asdict(verify_chain(ctx.session))

    def rows() -> Iterator[dict[str, Any]]:
        for r in ctx.session.execute(stmt.execution_options(yield_per=5000)):
            yield dict(
                zip(
                    ("seq", "occurred_at", "actor", "action", "entity", "entity_id", "hash"),
                    r,
                    strict=True,
                )
            )

    return rows(), {"verification": verification}


register(
    Report(
        name="audit-trail",
        title="Audit trail",
        description="Every audit event in chain order, with the chain's verification.",
        columns=(
            Column("seq", "Seq", "int"),
            Column("occurred_at", "When", "datetime"),
            Column("actor", "Actor"),
            Column("action", "Action"),
            Column("entity", "Entity"),
            Column("entity_id", "Entity id"),
            Column("hash", "Hash"),
        ),
        query=_audit_trail,
        needs_fund=False,
    )
)


# ---------------------------------------------------------------- donor trace


def _donor_trace(ctx: QueryContext) -> QueryResult:
    """Every donor of the fund: each contribution split into what it paid (to whom,
    for what, when), what it still backs, and what is free. The rows of a
    contribution add up to its base amount; all rows add up to the contributions."""
    from ledger.funding.trace import donor_trace

    stmt = select(Donor).where(
        Donor.id.in_(select(Pledge.donor_id).where(Pledge.fund_id == ctx.fund_id))
    )
    if ctx.donor_id is not None:
        # One donor's statement.
        get_or_404(ctx.session, Donor, ctx.donor_id)
        stmt = stmt.where(Donor.id == ctx.donor_id)
    donors = ctx.session.scalars(stmt.order_by(Donor.name, Donor.id)).all()
    traces = {donor.id: donor_trace(ctx.session, donor, ctx.as_of) for donor in donors}

    def cents(text: str) -> int:
        return int(text.replace(".", "").replace("-", "")) * (-1 if text.startswith("-") else 1)

    def rows() -> Iterator[dict[str, Any]]:
        for donor in donors:
            trace = traces[donor.id]
            for c in trace["contributions"]:
                if c["fund_id"] != ctx.fund_id:
                    continue
                base = {
                    "donor": donor.name,
                    "contribution_id": c["contribution_id"],
                    "received_on": c["received_on"],
                }
                for use in c["uses"]:
                    yield {
                        **base,
                        "use": use["kind"],
                        "project": use["project"],
                        "sector": use["sector"],
                        "location": use["location"],
                        "payee": use["payee"],
                        "spending_request_id": use["spending_request_id"],
                        "disbursement_id": use.get("disbursement_id"),
                        "date": use.get("date"),
                        "base_amount": cents(use["amount"]),
                    }
                if cents(c["free"]):
                    yield {**base, "use": "free", "base_amount": cents(c["free"])}

    notes: dict[str, Any] = {}
    if ctx.donor_id is not None and donors:
        notes["statement"] = _donor_statement(ctx, donors[0], traces[donors[0].id])
    return rows(), notes


def _donor_statement(ctx: QueryContext, donor: Donor, trace: dict[str, Any]) -> dict[str, Any]:
    """What a donor's statement says above its table: pledged, received, disbursed,
    still committed and free, in the fund's base currency; and each earmark, with
    whether every use of its money kept to it."""
    fund = ctx.fund
    assert fund is not None
    pledges = ctx.session.scalars(
        select(Pledge).where(Pledge.fund_id == fund.id, Pledge.donor_id == donor.id)
    ).all()
    if ctx.as_of is not None:
        pledges = [p for p in pledges if p.pledged_on <= ctx.as_of]
    mine = [c for c in trace["contributions"] if c["fund_id"] == fund.id]
    cur = fund.base_currency

    def summed(key: str) -> str:
        return f"{sum((Decimal(c[key]) for c in mine), Decimal(0)):,} {cur}"

    statement: dict[str, Any] = {
        "donor": f"{donor.name} ({donor.country})",
        "pledged": f"{to_decimal(sum(p.base_amount_minor for p in pledges), cur):,} {cur}",
        "received": summed("base_amount"),
        "disbursed": summed("disbursed"),
        "still committed": summed("committed"),
        "free": summed("free"),
    }
    by_pledge = {c["pledge_id"]: c for c in mine}
    for pledge in pledges:
        earmark = {
            k: v
            for k, v in (
                ("sector", pledge.earmark_sector),
                ("location", pledge.earmark_location),
                ("project", pledge.earmark_project_id),
            )
            if v is not None
        }
        if not earmark:
            continue
        uses = [u for c in mine if c["pledge_id"] == pledge.id for u in c["uses"]]
        kept = all(pledge.allows(u["sector"], u["location"], u["project_id"]) for u in uses)
        said = ", ".join(
            f"{k} {SECTOR_LABELS.get(str(v), v) if k == 'sector' else v}"
            for k, v in earmark.items()
        )
        verdict = "honoured: every use kept to it" if kept else "NOT honoured"
        statement[f"earmark of pledge {pledge.id}"] = f"{said}; {len(uses)} uses, {verdict}" + (
            "" if pledge.id in by_pledge else " (nothing received yet)"
        )
    return statement


register(
    Report(
        name="donor-trace",
        title="Donor trace",
        description="Where each donor's money went: per contribution, what it paid (project, "
        "payee, disbursement, date), what it still backs, and what is free.",
        columns=(
            Column("donor", "Donor"),
            Column("contribution_id", "Contribution id", "int"),
            Column("received_on", "Received on"),
            Column("use", "Use"),
            Column("project", "Project"),
            Column("sector", "Sector", labels=SECTOR_LABELS),
            Column("location", "Location"),
            Column("payee", "Payee"),
            Column("spending_request_id", "Request id", "int"),
            Column("disbursement_id", "Disbursement id", "int"),
            Column("date", "Paid on"),
            _base("base_amount", "Amount (base)"),
        ),
        query=_donor_trace,
        explanation=(
            "Each row is a part of one of the donor's contributions: what it paid "
            "(disbursed: the project, its sector and location, the payee, the "
            "disbursement and the date), what it still backs (committed: approved by "
            "the committee, not yet paid), or what is still free. The rows of a "
            "contribution add up to the contribution, in the fund's base currency.",
            "How money is attributed. When the committee approves a request, the "
            "ledger reserves received money for it, contribution by contribution, "
            "and keeps the record: first money earmarked for exactly that project, "
            "then money earmarked for its sector and location, then for its sector or "
            "its location, and only then money given without an earmark; within each, "
            "the money received first is used first. Money pledged but not yet "
            "received never backs an approval.",
            "A payment is attributed to the contributions that back its request, in "
            "the order they were reserved. A payment returned by the bank gives the "
            "money back to the same contributions; money returned to a donor leaves "
            "the fund on the date it was returned, and a statement as of an earlier "
            "date still shows it received.",
            "The statement is generated from the ledger's books at the audit chain "
            "head shown on its cover; the latest signed checkpoint lets anyone check, "
            "with the fund's public key, that the records behind it were not changed "
            "afterwards.",
        ),
    )
)
