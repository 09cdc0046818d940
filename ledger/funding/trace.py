"""Where a donor's money went, and what each earmark still has: queries over the
allocations stored when the money moved (docs/accounting.md states the rule)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.committee.models import SpendingRequest
from ledger.disbursements.models import Disbursement
from ledger.funding.models import (
    Allocation,
    Contribution,
    DisbursementAllocation,
    Donor,
    Fund,
    Pledge,
)
from ledger.journal.models import JournalEntry
from ledger.money import Money
from ledger.payees.models import Payee
from ledger.projects.models import Project


def _day_end(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def donor_trace(session: Session, donor: Donor, as_of: dt.date | None) -> dict[str, Any]:
    """For one donor: each contribution, the commitments it backs and the payments
    it made (project, payee, disbursement, amount, date), what is still committed
    and what is still free. All in each fund's base currency; totals add up to the
    donor's contributions."""
    stmt = (
        select(Contribution, Fund)
        .join(Pledge, Pledge.id == Contribution.pledge_id)
        .join(Fund, Fund.id == Contribution.fund_id)
        .where(Pledge.donor_id == donor.id)
        .order_by(Contribution.received_on, Contribution.id)
    )
    if as_of is not None:
        stmt = stmt.where(Contribution.received_on <= as_of)
    rows = session.execute(stmt).all()
    ids = [c.id for c, _ in rows]
    # A contribution returned to the donor is returned from its reversal's value
    # date on: a report as of an earlier date shows it received.
    returned_on = dict(
        session.execute(
            select(JournalEntry.source_id, JournalEntry.value_date).where(
                JournalEntry.kind == "contribution_reversal",
                JournalEntry.source_type == "contribution",
                JournalEntry.source_id.in_(ids),
            )
        ).all()
    )

    def returned(contribution: Contribution) -> bool:
        day = returned_on.get(contribution.id)
        return day is not None and (as_of is None or day <= as_of)

    alloc_stmt = (
        select(
            Allocation.contribution_id,
            Allocation.spending_request_id,
            func.sum(Allocation.base_amount_minor),
        )
        .where(Allocation.contribution_id.in_(ids))
        .group_by(Allocation.contribution_id, Allocation.spending_request_id)
    )
    paid_stmt = (
        select(
            DisbursementAllocation.contribution_id,
            DisbursementAllocation.spending_request_id,
            DisbursementAllocation.disbursement_id,
            func.sum(DisbursementAllocation.base_amount_minor),
        )
        .where(DisbursementAllocation.contribution_id.in_(ids))
        .group_by(
            DisbursementAllocation.contribution_id,
            DisbursementAllocation.spending_request_id,
            DisbursementAllocation.disbursement_id,
        )
    )
    if as_of is not None:
        alloc_stmt = alloc_stmt.where(Allocation.created_at < _day_end(as_of))
        paid_stmt = paid_stmt.where(DisbursementAllocation.value_date <= as_of)
    committed: dict[int, dict[int, int]] = defaultdict(dict)
    for cid, rid, amount in session.execute(alloc_stmt):
        committed[cid][rid] = int(amount)
    paid: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for cid, rid, did, amount in session.execute(paid_stmt):
        if int(amount):
            paid[cid].append((rid, did, int(amount)))

    request_ids = {rid for m in committed.values() for rid in m} | {
        rid for lst in paid.values() for rid, _, _ in lst
    }
    requests = {
        r.id: r
        for r in session.scalars(select(SpendingRequest).where(SpendingRequest.id.in_(request_ids)))
    }
    projects = {
        p.id: p
        for p in session.scalars(
            select(Project).where(Project.id.in_({r.project_id for r in requests.values()}))
        )
    }
    payees = {
        p.id: p.name
        for p in session.scalars(
            select(Payee).where(Payee.id.in_({r.payee_id for r in requests.values()}))
        )
    }
    disbursements = {
        d.id: d
        for d in session.scalars(
            select(Disbursement).where(
                Disbursement.id.in_({did for lst in paid.values() for _, did, _ in lst})
            )
        )
    }

    out: list[dict[str, Any]] = []
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for contribution, fund in rows:
        cur = fund.base_currency
        base = 0 if returned(contribution) else contribution.base_amount_minor
        uses = []
        paid_total = 0
        for rid, did, amount in sorted(paid[contribution.id]):
            request, d = requests[rid], disbursements[did]
            project = projects[request.project_id]
            uses.append(
                {
                    "kind": "disbursed",
                    "spending_request_id": rid,
                    "disbursement_id": did,
                    "project_id": project.id,
                    "project": project.name,
                    "sector": project.sector,
                    "location": project.location,
                    "payee_id": request.payee_id,
                    "payee": payees[request.payee_id],
                    "date": d.paid_on.isoformat(),
                    "amount": str(Money(amount, cur)),
                }
            )
            paid_total += amount
        committed_total = sum(committed[contribution.id].values())
        for rid, amount in sorted(committed[contribution.id].items()):
            open_part = amount - sum(a for r, _, a in paid[contribution.id] if r == rid)
            if open_part > 0:
                request = requests[rid]
                project = projects[request.project_id]
                uses.append(
                    {
                        "kind": "committed",
                        "spending_request_id": rid,
                        "project_id": project.id,
                        "project": project.name,
                        "sector": project.sector,
                        "location": project.location,
                        "payee_id": request.payee_id,
                        "payee": payees[request.payee_id],
                        "amount": str(Money(open_part, cur)),
                    }
                )
        still_committed = committed_total - paid_total
        free = base - committed_total
        for key, value in (
            ("contributed", base),
            ("disbursed", paid_total),
            ("committed", still_committed),
            ("free", free),
        ):
            totals[cur][key] += value
        out.append(
            {
                "contribution_id": contribution.id,
                "pledge_id": contribution.pledge_id,
                "fund_id": fund.id,
                "received_on": contribution.received_on.isoformat(),
                "reference": contribution.reference,
                "currency": contribution.currency,
                "amount": str(contribution.amount),
                "base_currency": cur,
                "base_amount": str(Money(base, cur)),
                "reversed": returned(contribution),
                "disbursed": str(Money(paid_total, cur)),
                "committed": str(Money(still_committed, cur)),
                "free": str(Money(free, cur)),
                "uses": uses,
            }
        )
    return {
        "donor_id": donor.id,
        "donor": donor.name,
        "as_of": as_of,
        "contributions": out,
        "totals": [
            {"base_currency": cur, **{k: str(Money(v, cur)) for k, v in t.items()}}
            for cur, t in sorted(totals.items())
        ],
    }


def available_by_earmark(session: Session, fund: Fund) -> list[dict[str, Any]]:
    """Received, uncommitted money of a fund, grouped by the earmark that binds it."""
    allocated = (
        select(Allocation.contribution_id, func.sum(Allocation.base_amount_minor).label("a"))
        .group_by(Allocation.contribution_id)
        .subquery()
    )
    free = Contribution.base_amount_minor - func.coalesce(allocated.c.a, 0)
    stmt = (
        select(
            Pledge.earmark_sector,
            Pledge.earmark_location,
            Pledge.earmark_project_id,
            func.sum(free),
        )
        .join(Pledge, Pledge.id == Contribution.pledge_id)
        .outerjoin(allocated, allocated.c.contribution_id == Contribution.id)
        .where(Contribution.fund_id == fund.id, Contribution.reversed_at.is_(None))
        .group_by(Pledge.earmark_sector, Pledge.earmark_location, Pledge.earmark_project_id)
        .order_by(
            sa.nulls_first(Pledge.earmark_project_id.asc()),
            sa.nulls_first(Pledge.earmark_sector.asc()),
            sa.nulls_first(Pledge.earmark_location.asc()),
        )
    )
    return [
        {
            "earmark": None
            if not (sector or location or project_id)
            else {"sector": sector, "location": location, "project_id": project_id},
            "available": str(Money(int(amount or 0), fund.base_currency)),
        }
        for sector, location, project_id, amount in session.execute(stmt)
    ]
