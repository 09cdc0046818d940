"""Spending requests and committee votes: from a clerk's request to a commitment.

Lock order, everywhere: the spending request's row, then the fund's row. Votes on
one request are serialised by the request's lock; commitments of one fund by the
fund's lock, so that two approvals never commit the same cash.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.audit.services import record, snapshot
from ledger.auth.models import User
from ledger.committee.models import SpendingRequest, Vote
from ledger.committee.policy import CastVote, Outcome, QuorumPolicy
from ledger.compliance.services import assert_payable
from ledger.db import get_or_404, utcnow
from ledger.errors import (
    AlreadyVoted,
    Forbidden,
    NotFound,
    NotPending,
    SeparationOfDuties,
    ValidationFailed,
)
from ledger.funding.allocation import allocate_commitment
from ledger.funding.models import Fund
from ledger.funding.services import to_base
from ledger.journal.services import COMMITMENT_RESERVE, COMMITMENTS, pair, post_entry
from ledger.money import Money
from ledger.payees.models import Payee
from ledger.projects.models import Project


def lock_request(session: Session, request_id: int) -> SpendingRequest:
    request = session.scalars(
        select(SpendingRequest)
        .where(SpendingRequest.id == request_id)
        .with_for_update(of=SpendingRequest)
        .execution_options(populate_existing=True)
    ).first()
    if request is None:
        raise NotFound(f"No spending request with id {request_id}.")
    return request


def lock_fund(session: Session, fund_id: int) -> Fund:
    return session.scalars(
        select(Fund)
        .where(Fund.id == fund_id)
        .with_for_update(of=Fund)
        .execution_options(populate_existing=True)
    ).one()


def submit_request(
    session: Session,
    actor: User,
    policy: QuorumPolicy,
    *,
    fund_id: int,
    project_id: int,
    payee_id: int,
    amount: Money,
    purpose: str,
    fx_rate: Decimal | None = None,
    expiry_days: int = 30,
) -> SpendingRequest:
    """Ask the committee to commit money to a project for a payee."""
    fund = get_or_404(session, Fund, fund_id)
    project = get_or_404(session, Project, project_id)
    if project.fund_id != fund.id:
        raise ValidationFailed("project_id", f"Project {project.id} belongs to another fund.")
    payee = get_or_404(session, Payee, payee_id)
    base = to_base(amount, fund, fx_rate)
    assert_payable(session, payee, action="submit spending request")
    request = SpendingRequest(
        fund_id=fund.id,
        project_id=project.id,
        payee_id=payee.id,
        amount_minor=amount.minor,
        currency=amount.currency,
        fx_rate=fx_rate if amount.currency != fund.base_currency else None,
        base_amount_minor=base.minor,
        purpose=purpose,
        status="pending",
        tier=policy.tier_for(base).name,
        policy_version=policy.version,
        submitted_by=actor.id,
        expires_at=utcnow() + dt.timedelta(days=expiry_days),
    )
    session.add(request)
    record(session, actor, "spending_request.submitted", request)
    return request


def outcome_of(policy: QuorumPolicy, request: SpendingRequest, fund: Fund) -> Outcome:
    tier = policy.tier_for(Money(request.base_amount_minor, fund.base_currency))
    votes = [CastVote(v.decision, v.institution, v.is_chair) for v in request.votes]
    return policy.decide(tier, votes)


def expire_if_due(session: Session, request: SpendingRequest, actor: User | None) -> bool:
    """Mark an undecided request expired once its time is up (it commits nothing)."""
    if request.status == "pending" and request.expires_at and request.expires_at <= utcnow():
        before = snapshot(request)
        request.status = "expired"
        request.decided_at = request.expires_at
        record(session, actor, "spending_request.expired", request, before=before)
        return True
    return False


def cast_vote(
    session: Session,
    actor: User,
    policy: QuorumPolicy,
    *,
    request_id: int,
    decision: str,
    comment: str,
) -> tuple[SpendingRequest, Vote, Outcome]:
    """Record a member's vote and decide the request the moment the policy says so.

    An approving vote is refused if the payee cannot be paid now. The deciding
    approval commits the money (cash-backed, within earmarks) in the same
    transaction: if the money is not there, the vote is refused and nothing changes.
    """
    request = lock_request(session, request_id)
    if not actor.has_role("committee_member") or not actor.institution:
        raise Forbidden("Only committee members with an institution vote.")
    if expire_if_due(session, request, actor):
        session.flush()
        raise NotPending(f"Spending request {request.id} expired on {request.expires_at}.")
    if request.status != "pending":
        raise NotPending(f"Spending request {request.id} is {request.status}; voting is over.")
    if request.submitted_by == actor.id:
        raise SeparationOfDuties(
            "Whoever submitted a spending request cannot vote on it.",
            spending_request_id=request.id,
            payee_id=request.payee_id,
        )
    if any(v.member_id == actor.id for v in request.votes):
        raise AlreadyVoted(f"You have voted on spending request {request.id} already.")
    payee = get_or_404(session, Payee, request.payee_id)
    if decision == "approve":
        assert_payable(session, payee, action="approve", spending_request_id=request.id)
    vote = Vote(
        spending_request_id=request.id,
        member_id=actor.id,
        institution=actor.institution,
        is_chair=actor.is_chair,
        decision=decision,
        comment=comment,
    )
    session.add(vote)
    session.flush()
    session.refresh(request, ["votes"])
    record(session, actor, "vote.cast", vote)

    fund = lock_fund(session, request.fund_id)
    outcome = outcome_of(policy, request, fund)
    if outcome.status != "pending":
        before = snapshot(request)
        request.status = outcome.status
        request.decided_at = utcnow()
        request.policy_version = policy.version
        request.tier = policy.tier_for(Money(request.base_amount_minor, fund.base_currency)).name
        if outcome.status == "approved":
            _commit_funds(session, actor, request, fund)
        record(session, actor, f"spending_request.{outcome.status}", request, before=before)
    return request, vote, outcome


def _commit_funds(session: Session, actor: User, request: SpendingRequest, fund: Fund) -> None:
    project = get_or_404(session, Project, request.project_id)
    base = Money(request.base_amount_minor, fund.base_currency)
    allocate_commitment(session, fund, project, request.id, base)
    post_entry(
        session,
        fund_id=fund.id,
        kind="commitment",
        value_date=utcnow().date(),
        memo=f"Commitment for spending request {request.id}",
        source=("spending_request", request.id),
        lines=pair(
            COMMITMENTS,
            COMMITMENT_RESERVE,
            request.currency,
            request.amount_minor,
            request.base_amount_minor,
            request_dimensions(request),
        ),
        actor=actor,
    )


def request_dimensions(request: SpendingRequest) -> dict[str, Any]:
    return {
        "project_id": request.project_id,
        "payee_id": request.payee_id,
        "spending_request_id": request.id,
    }
