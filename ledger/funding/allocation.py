"""Which received money backs a commitment: the allocation rule.

A commitment for a project is funded from contributions whose pledge's earmark
allows that project, taking, in this order (the rule the docs state):

1. money earmarked for exactly this project;
2. money earmarked for the project's sector and location;
3. money earmarked for its sector, or for its location;
4. unearmarked money;

and within each rank the oldest value date first (then the lowest id). Each
allocation is stored when the commitment is made, so the donor trace is a query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.errors import EarmarkViolation, InsufficientFunds
from ledger.funding.models import (
    Allocation,
    Contribution,
    DisbursementAllocation,
    Fund,
    Pledge,
)
from ledger.money import Money
from ledger.projects.models import Project


@dataclass(frozen=True)
class Source:
    contribution_id: int
    free_minor: int
    rank: int


def _rank(pledge: type[Pledge]) -> sa.ColumnElement[int]:
    sector, location = pledge.earmark_sector.is_not(None), pledge.earmark_location.is_not(None)
    return sa.case(
        (pledge.earmark_project_id.is_not(None), 1),
        (sa.and_(sector, location), 2),
        (sa.or_(sector, location), 3),
        else_=4,
    )


def free_sources(session: Session, fund: Fund, project: Project | None) -> list[Source]:
    """Contributions with money not yet committed, in allocation order. With a
    project, only those whose earmark allows it."""
    allocated = (
        select(
            Allocation.contribution_id,
            func.sum(Allocation.base_amount_minor).label("allocated"),
        )
        .group_by(Allocation.contribution_id)
        .subquery()
    )
    rank = _rank(Pledge)
    free = Contribution.base_amount_minor - func.coalesce(allocated.c.allocated, 0)
    stmt = (
        select(Contribution.id, free, rank)
        .join(Pledge, Pledge.id == Contribution.pledge_id)
        .outerjoin(allocated, allocated.c.contribution_id == Contribution.id)
        .where(Contribution.fund_id == fund.id, Contribution.reversed_at.is_(None), free > 0)
        .order_by(rank, Contribution.received_on, Contribution.id)
    )
    if project is not None:
        stmt = stmt.where(Pledge.allowing(project.sector, project.location, project.id))
    return [Source(cid, int(f), int(r)) for cid, f, r in session.execute(stmt)]


def allocate_commitment(
    session: Session, fund: Fund, project: Project, spending_request_id: int, base: Money
) -> list[Allocation]:
    """Reserve ``base`` of received, uncommitted, eligible money for a request.

    The caller holds the fund's lock. Refuses with ``insufficient_funds`` when the
    fund as a whole lacks the cash, and with ``earmark_violation`` when the cash
    exists but its earmarks do not allow this project."""
    needed = base.minor
    eligible = free_sources(session, fund, project)
    eligible_total = sum(s.free_minor for s in eligible)
    if eligible_total < needed:
        total = sum(s.free_minor for s in free_sources(session, fund, None))
        available = str(Money(total, fund.base_currency))
        if total < needed:
            raise InsufficientFunds(
                f"The fund has {available} {fund.base_currency} received and uncommitted; "
                f"this commitment needs {base} {fund.base_currency}.",
                available=available,
                spending_request_id=spending_request_id,
            )
        raise EarmarkViolation(
            f"Only {Money(eligible_total, fund.base_currency)} {fund.base_currency} of the "
            f"uncommitted money may be used for project {project.id} ({project.sector}, "
            f"{project.location}); the rest is earmarked for other uses. "
            f"Missing: {Money(needed - eligible_total, fund.base_currency)}.",
            available_for_project=str(Money(eligible_total, fund.base_currency)),
            spending_request_id=spending_request_id,
        )
    allocations = []
    for source in eligible:
        if needed == 0:
            break
        take = min(source.free_minor, needed)
        allocations.append(
            Allocation(
                contribution_id=source.contribution_id,
                spending_request_id=spending_request_id,
                base_amount_minor=take,
            )
        )
        needed -= take
    session.add_all(allocations)
    session.flush()
    return allocations


def release_allocations(session: Session, spending_request_id: int, base_minor: int) -> None:
    """Give back ``base_minor`` of a request's allocations, last allocated first
    (negative rows: the history of what backed the commitment stays)."""
    held = session.execute(
        select(Allocation.contribution_id, func.sum(Allocation.base_amount_minor))
        .where(Allocation.spending_request_id == spending_request_id)
        .group_by(Allocation.contribution_id)
        .having(func.sum(Allocation.base_amount_minor) > 0)
        .order_by(func.max(Allocation.id).desc())
    ).all()
    left = base_minor
    for contribution_id, amount in held:
        if left <= 0:
            break
        give = min(int(amount), left)
        session.add(
            Allocation(
                contribution_id=contribution_id,
                spending_request_id=spending_request_id,
                base_amount_minor=-give,
            )
        )
        left -= give
    session.flush()


def used_so_far(
    spending_request_id: int | sa.ColumnElement[int], contribution_id: Any
) -> sa.ScalarSelect[Any]:
    """What the request's payments have used of a contribution so far: the running
    total on its newest attribution row (NULL before the first)."""
    return (
        select(DisbursementAllocation.used_after_minor)
        .where(
            DisbursementAllocation.spending_request_id == spending_request_id,
            DisbursementAllocation.contribution_id == contribution_id,
        )
        .order_by(DisbursementAllocation.id.desc())
        .limit(1)
        .scalar_subquery()
    )


# Into the table, not the mapped class (the ORM's bulk insert costs more than the
# statement).
_INSERT_ATTRIBUTION = sa.insert(DisbursementAllocation.__table__)  # type: ignore[arg-type]
# Built once: every payment runs it.
_HELD = (
    select(
        Allocation.contribution_id,
        func.sum(Allocation.base_amount_minor),
        func.coalesce(
            func.max(used_so_far(sa.bindparam("request_id"), Allocation.contribution_id)), 0
        ),
    )
    .where(Allocation.spending_request_id == sa.bindparam("request_id"))
    .group_by(Allocation.contribution_id)
    .order_by(func.min(Allocation.id))
)


def allocate_disbursement(
    session: Session,
    *,
    spending_request_id: int,
    disbursement_id: int,
    base_minor: int,
    value_date: Any,
) -> list[DisbursementAllocation]:
    """Attribute a payment to the contributions behind its commitment: the
    request's allocations consumed in the order they were made, net of what
    earlier payments consumed."""
    # One query: per contribution, what the request holds and what its payments
    # have used of it so far (the request's row is locked by the caller).
    held = session.execute(_HELD, {"request_id": spending_request_id}).all()
    rows, left = [], base_minor
    for contribution_id, amount, already_used in held:
        if left <= 0:
            break
        available = int(amount) - int(already_used)
        take = min(available, left)
        if take > 0:
            rows.append(
                DisbursementAllocation(
                    disbursement_id=disbursement_id,
                    contribution_id=contribution_id,
                    spending_request_id=spending_request_id,
                    base_amount_minor=take,
                    used_after_minor=int(already_used) + take,
                    value_date=value_date,
                )
            )
            left -= take
    # Rounding between rates can leave a cent: it goes to the last source used.
    if left and rows:
        rows[-1].base_amount_minor += left
        rows[-1].used_after_minor += left
    if rows:
        # One INSERT, without the unit of work: the rows are append-only and only
        # returned for the caller to read.
        session.execute(
            _INSERT_ATTRIBUTION,
            [
                {
                    "disbursement_id": r.disbursement_id,
                    "contribution_id": r.contribution_id,
                    "spending_request_id": r.spending_request_id,
                    "base_amount_minor": r.base_amount_minor,
                    "used_after_minor": r.used_after_minor,
                    "value_date": r.value_date,
                }
                for r in rows
            ],
        )
    return rows
