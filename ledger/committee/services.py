"""Spending requests and committee votes: from a clerk's request to a commitment,
and what happens to it after (withdrawal, expiry, decrease, cancellation, tranches).

Lock order, everywhere: the spending request's row, then the fund's row. Votes on
one request are serialised by the request's lock; commitments of one fund by the
fund's lock, so that two approvals never commit the same cash.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.orm import Session, lazyload
from sqlalchemy.orm.attributes import set_committed_value

from ledger.audit.services import record, snapshot
from ledger.auth.models import Actor, User, UserRole
from ledger.committee.models import (
    ConflictDeclaration,
    RequestAmendment,
    SpendingRequest,
    Tranche,
    TrancheUseReport,
    Vote,
)
from ledger.committee.policy import CastVote, Outcome, QuorumPolicy, Recusal
from ledger.compliance.payability import assert_payable
from ledger.db import get_or_404, lock_row, utcnow
from ledger.disbursements.models import Disbursement
from ledger.errors import (
    AlreadyVoted,
    Conflict,
    ConflictOfInterest,
    DatedBeforeApproval,
    Forbidden,
    NotApproved,
    NotFound,
    NotPending,
    ReferenceInUse,
    SeparationOfDuties,
    ValidationFailed,
)
from ledger.funding.allocation import allocate_commitment, release_allocations
from ledger.funding.models import Fund
from ledger.funding.services import to_base
from ledger.journal.models import JournalLine
from ledger.journal.services import (
    COMMITMENT_RESERVE,
    COMMITMENTS,
    closed_period,
    pair,
    post_entry,
)
from ledger.money import Money, MoneyError
from ledger.notifications.services import EventSubject, notify
from ledger.payees.models import Payee, RelatedParty
from ledger.projects.models import Project
from ledger.screening.services import LATEST_LIST_ID, LATEST_LIST_IMPORTED_AT

MAX_TRANCHES = 24


# ---------------------------------------------------------------- locks


def lock_request(session: Session, request_id: int) -> SpendingRequest:
    return lock_row(session, SpendingRequest, request_id)


@dataclass(frozen=True)
class PaymentLock:
    """A request locked for paying it, with what paying it needs to know."""

    request: SpendingRequest
    payer_voted: bool  # the payer voted on it (separation of duties)
    payable_limit_minor: int  # the approval, or the tranches released so far
    # The fund's disbursement that already carries the payment's bank reference.
    reference_used_by: int | None = None
    # The latest watchlist version (id, imported_at), read with the lock: the
    # payee's screening needs it (screening.services.name_index).
    latest_lists: tuple[Any, Any] | None = None
    # The closed period that holds the payment's value date, if any
    # (journal.services.closed_period).
    closed_period: str | None = None


_PAYER_VOTED = (
    sa.exists()
    .where(
        Vote.spending_request_id == SpendingRequest.id,
        Vote.member_id == sa.bindparam("payer_id"),
    )
    .label("payer_voted")
)
_TRANCHES = (
    select(func.count(Tranche.id))
    .where(Tranche.spending_request_id == SpendingRequest.id)
    .scalar_subquery()
)
_RELEASED = (
    select(func.coalesce(func.sum(Tranche.amount_minor), 0))
    .where(Tranche.spending_request_id == SpendingRequest.id, Tranche.released_at.is_not(None))
    .scalar_subquery()
)
_REFERENCE_USED_BY = (
    select(Disbursement.id)
    .where(
        Disbursement.fund_id == SpendingRequest.fund_id,
        Disbursement.reference == sa.bindparam("reference"),
    )
    .scalar_subquery()
)
_LOCK_TO_PAY = (
    select(
        SpendingRequest,
        _PAYER_VOTED,
        _TRANCHES,
        _RELEASED,
        _REFERENCE_USED_BY,
        LATEST_LIST_ID,
        LATEST_LIST_IMPORTED_AT,
        closed_period(SpendingRequest.fund_id, sa.bindparam("paid_on", type_=sa.Date())),
    )
    .where(SpendingRequest.id == sa.bindparam("request_id"))
    .options(lazyload(SpendingRequest.votes), lazyload(SpendingRequest.tranches))
    .with_for_update(of=SpendingRequest)
    .execution_options(populate_existing=True)
)


def lock_request_to_pay(
    session: Session,
    request_id: int,
    payer_id: int,
    reference: str | None = None,
    paid_on: dt.date | None = None,
) -> PaymentLock:
    """``lock_request`` for a payment, in one statement: the request's row lock,
    whether the payer voted on it, how much of it may be paid in all (its votes and
    tranches are not loaded: a payment reads them only to explain a refusal), and
    which of the fund's disbursements carries ``reference`` already, the latest list
    version, and the closed period that holds ``paid_on``, if any."""
    params = {
        "request_id": request_id,
        "payer_id": payer_id,
        "reference": reference,
        "paid_on": paid_on,
    }
    row = session.execute(_LOCK_TO_PAY, params).first()
    if row is None:
        get_or_404(session, SpendingRequest, request_id)  # raises NotFound
    assert row is not None
    request, voted, tranches, released, used_by, list_id, list_imported_at, closed = row
    limit = int(released) if tranches else request.amount_minor
    lists = None if list_id is None else (list_id, list_imported_at)
    return PaymentLock(request, bool(voted), limit, used_by, lists, closed)


_ADD_DISBURSED = (
    sa.update(SpendingRequest.__table__)  # type: ignore[arg-type]
    .where(SpendingRequest.__table__.c.id == sa.bindparam("request_id"))
    .values(disbursed_minor=sa.bindparam("disbursed_minor"))
)


def add_disbursed(session: Session, request: SpendingRequest, minor: int) -> None:
    """``minor`` more paid against the locked ``request``: one UPDATE now, and the
    loaded request shows it without the unit of work flushing it again."""
    paid = request.disbursed_minor + minor
    session.execute(_ADD_DISBURSED, {"request_id": request.id, "disbursed_minor": paid})
    set_committed_value(request, "disbursed_minor", paid)


def assert_reference_unused(lock: PaymentLock, reference: str) -> None:
    """A bank reference pays once in a fund (SPEC §3.11), whatever the
    Idempotency-Key: a retry script that makes a fresh key per attempt must not
    pay twice."""
    if lock.reference_used_by is not None:
        raise ReferenceInUse(
            f"Bank reference '{reference}' was paid in fund {lock.request.fund_id} already "
            f"(disbursement {lock.reference_used_by}): a reference pays once.",
            errors={"reference": [f"Already used by disbursement {lock.reference_used_by}."]},
            disbursement_id=lock.reference_used_by,
            spending_request_id=lock.request.id,
            payee_id=lock.request.payee_id,
        )


def assert_paid_after_approval(request: SpendingRequest, paid_on: dt.date) -> None:
    """A payment is not dated before its request's approval: as of an earlier date
    there was no commitment to pay from, and the commitment's remainder would be
    negative there (SPEC §3.12)."""
    approved_on = request.decided_at.date() if request.decided_at is not None else None
    if approved_on is not None and paid_on < approved_on:
        raise DatedBeforeApproval(
            f"Spending request {request.id} was approved on {approved_on.isoformat()}; "
            f"a payment against it cannot be dated {paid_on.isoformat()}, before that.",
            errors={"paid_on": [f"Before the approval ({approved_on.isoformat()})."]},
            approved_on=approved_on.isoformat(),
            spending_request_id=request.id,
        )


def assert_not_voter(lock: PaymentLock) -> None:
    """Whoever voted on a request does not pay it (SPEC §3.7)."""
    if lock.payer_voted:
        raise SeparationOfDuties(
            "Whoever voted on a spending request cannot disburse it.",
            spending_request_id=lock.request.id,
            payee_id=lock.request.payee_id,
        )


def lock_fund(session: Session, fund_id: int) -> Fund:
    return lock_row(session, Fund, fund_id)


def request_dimensions(request: SpendingRequest) -> dict[str, Any]:
    return {
        "project_id": request.project_id,
        "payee_id": request.payee_id,
        "spending_request_id": request.id,
    }


# ---------------------------------------------------------------- conflicts of interest


def declare_conflict(session: Session, member: Actor, *, payee_id: int, reason: str) -> Any:
    """A member declares a link to a payee: from now on they are recused from its
    requests (and from those of payees it stands behind)."""
    if not member.has_role("committee_member"):
        raise Forbidden("Only committee members declare conflicts of interest.")
    get_or_404(session, Payee, payee_id)
    declaration = ConflictDeclaration(member_id=member.id, payee_id=payee_id, reason=reason)
    session.add(declaration)
    record(session, member, "conflict.declared", declaration)
    return declaration


def withdraw_conflict(
    session: Session, member: Actor, *, declaration_id: int, reason: str
) -> ConflictDeclaration:
    declaration = get_or_404(session, ConflictDeclaration, declaration_id)
    if declaration.member_id != member.id:
        raise Forbidden("Only the member who declared a conflict withdraws it.")
    if declaration.withdrawn_at is not None:
        raise Conflict(f"Declaration {declaration.id} was withdrawn already.")
    before = snapshot(declaration)
    declaration.withdrawn_at = utcnow()
    declaration.withdrawn_reason = reason
    record(session, member, "conflict.withdrawn", declaration, before=before)
    return declaration


def conflicted_member_ids(session: Session, payee_id: int) -> set[int]:
    """Members with an active declaration on the payee, or on a payee that stands
    behind it as a related party."""
    behind = select(RelatedParty.linked_payee_id).where(
        RelatedParty.payee_id == payee_id, RelatedParty.linked_payee_id.is_not(None)
    )
    rows = session.scalars(
        select(ConflictDeclaration.member_id).where(
            ConflictDeclaration.withdrawn_at.is_(None),
            sa.or_(
                ConflictDeclaration.payee_id == payee_id,
                ConflictDeclaration.payee_id.in_(behind),
            ),
        )
    )
    return set(rows)


def committee_members(session: Session) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(
                UserRole.role == "committee_member",
                User.active.is_(True),
                User.institution.is_not(None),
            )
            .order_by(User.id)
        )
    )


def recusal_for(session: Session, request: SpendingRequest) -> Recusal:
    recused = conflicted_member_ids(session, request.payee_id)
    eligible = [m for m in committee_members(session) if m.id not in recused]
    return Recusal(
        recused_member_ids=frozenset(recused),
        eligible_members=len(eligible),
        eligible_institutions=len({m.institution for m in eligible}),
        chair_eligible=any(m.is_chair for m in eligible),
    )


# ---------------------------------------------------------------- submission


def _schedule(amount: Money, tranches: list[dict[str, Any]]) -> list[int]:
    """Turn a schedule of amounts, or of percentages, into minor units that add up
    to the request exactly (percentages round down; the last tranche takes the rest)."""
    if not 2 <= len(tranches) <= MAX_TRANCHES:
        raise ValidationFailed("tranches", f"A schedule has 2 to {MAX_TRANCHES} tranches.")
    kinds = {("amount" in t) + 2 * ("percent" in t) for t in tranches}
    if kinds == {1}:
        try:
            parts = [Money.parse(t["amount"], amount.currency).minor for t in tranches]
        except MoneyError as exc:
            raise ValidationFailed("tranches", str(exc)) from None
        if any(p <= 0 for p in parts) or sum(parts) != amount.minor:
            raise ValidationFailed(
                "tranches", f"Tranche amounts must be positive and add up to {amount}."
            )
        return parts
    if kinds == {2}:
        percents = [Decimal(str(t["percent"])) for t in tranches]
        if any(p <= 0 for p in percents) or sum(percents) != 100:
            raise ValidationFailed(
                "tranches", "Tranche percentages must be positive and add up to 100."
            )
        parts = [
            int((Decimal(amount.minor) * p / 100).to_integral_value(rounding=ROUND_DOWN))
            for p in percents[:-1]
        ]
        parts.append(amount.minor - sum(parts))
        if any(p <= 0 for p in parts):
            raise ValidationFailed("tranches", "A tranche would be empty at this amount.")
        return parts
    raise ValidationFailed(
        "tranches", "Give every tranche an amount, or every tranche a percent, not a mix."
    )


def submit_request(
    session: Session,
    actor: Actor,
    policy: QuorumPolicy,
    *,
    fund_id: int,
    project_id: int,
    payee_id: int,
    amount: Money,
    purpose: str,
    fx_rate: Decimal | None = None,
    expiry_days: int = 30,
    tranches: list[dict[str, Any]] | None = None,
    amends_request_id: int | None = None,
) -> SpendingRequest:
    """Ask the committee to commit money to a project for a payee.

    With ``amends_request_id`` the request increases an approved one: it is a new
    request, for the additional amount, that references the old."""
    fund = get_or_404(session, Fund, fund_id)
    project = get_or_404(session, Project, project_id)
    if project.fund_id != fund.id:
        raise ValidationFailed("project_id", f"Project {project.id} belongs to another fund.")
    payee = get_or_404(session, Payee, payee_id)
    if amends_request_id is not None:
        old = session.get(SpendingRequest, amends_request_id)
        if old is None:
            raise ValidationFailed("amends_request_id", f"No request {amends_request_id}.")
        if old.status != "approved":
            raise ValidationFailed(
                "amends_request_id", f"Request {old.id} is {old.status}; only approved ones grow."
            )
        if (old.fund_id, old.project_id, old.payee_id, old.currency) != (
            fund.id,
            project.id,
            payee.id,
            amount.currency,
        ):
            raise ValidationFailed(
                "amends_request_id",
                "An increase keeps the fund, project, payee and currency of the request it amends.",
            )
    base = to_base(amount, fund, fx_rate)
    parts = _schedule(amount, tranches) if tranches else []
    assert_payable(session, payee, action="submit spending request", actor_id=actor.id)
    request = SpendingRequest(
        fund_id=fund.id,
        project_id=project.id,
        payee_id=payee.id,
        amount_minor=amount.minor,
        requested_minor=amount.minor,
        currency=amount.currency,
        fx_rate=fx_rate if amount.currency != fund.base_currency else None,
        base_amount_minor=base.minor,
        purpose=purpose,
        amends_id=amends_request_id,
        status="pending",
        tier=policy.tier_for(base).name,
        policy_version=policy.version,
        submitted_by=actor.id,
        expires_at=utcnow() + dt.timedelta(days=expiry_days),
    )
    session.add(request)
    session.flush()
    session.add_all(
        Tranche(spending_request_id=request.id, seq=i, amount_minor=part)
        for i, part in enumerate(parts, start=1)
    )
    session.flush()
    after = snapshot(request)
    after["tranches"] = [str(Money(p, amount.currency)) for p in parts]
    record(session, actor, "spending_request.submitted", request, after=after)
    # Told: each member who may vote on it (not one recused from its payee, nor
    # whoever submitted it).
    recused = recusal_for(session, request).recused_member_ids
    notify(
        session,
        "vote.awaited",
        _request_subject(request, f"Spending request {request.id} awaits your vote"),
        [m.id for m in committee_members(session) if m.id not in recused and m.id != actor.id],
        actor=actor,
    )
    return request


def _request_subject(request: SpendingRequest, title: str) -> EventSubject:
    return EventSubject(
        "spending_requests",
        request.id,
        title,
        {
            "spending_request_id": request.id,
            "status": request.status,
            "amount": str(Money(request.amount_minor, request.currency)),
            "currency": request.currency,
            "payee_id": request.payee_id,
            "purpose": request.purpose[:200],
        },
    )


def _tell_decided(session: Session, actor: Actor | None, request: SpendingRequest) -> None:
    """A request approved, rejected or expired: told to its submitter and to the
    members who voted on it."""
    voters = session.scalars(
        select(Vote.member_id).where(Vote.spending_request_id == request.id)
    ).all()
    notify(
        session,
        "request.decided",
        _request_subject(request, f"Spending request {request.id} was {request.status}"),
        [request.submitted_by, *voters],
        actor=actor,
    )


# ---------------------------------------------------------------- the quorum


def outcome_of(
    policy: QuorumPolicy, request: SpendingRequest, fund: Fund, recusal: Recusal | None = None
) -> Outcome:
    tier = policy.tier_for(Money(request.base_amount_minor, fund.base_currency))
    # A vote cast before its member declared a conflict does not count either.
    recused = recusal.recused_member_ids if recusal else frozenset()
    votes = [
        CastVote(v.decision, v.institution, v.is_chair)
        for v in request.votes
        if v.member_id not in recused
    ]
    return policy.decide(tier, votes, recusal)


def quorum_view(session: Session, policy: QuorumPolicy, request: SpendingRequest) -> dict[str, Any]:
    """The quorum as a reader should see it: as recorded at the decision for a
    decided request (never recomputed under a later policy), live otherwise."""
    if request.decision is not None:
        return request.decision
    outcome = outcome_of(policy, request, request.fund, recusal_for(session, request))
    tier = policy.tier_for(Money(request.base_amount_minor, request.fund.base_currency))
    return _decision_record(policy, tier.name, outcome, request.current_status)


def _decision_record(
    policy: QuorumPolicy, tier_name: str, outcome: Outcome, status: str
) -> dict[str, Any]:
    tier = next(t for t in policy.tiers if t.name == tier_name)
    return {
        "status": status,
        "policy_version": policy.version,
        "tier": asdict(tier),
        "required": asdict(outcome.required),
        "approvals": outcome.approvals,
        "rejections": outcome.rejections,
        "institutions": outcome.institutions,
        "chair_approved": outcome.chair_approved,
        "missing": outcome.missing if status == "pending" else [],
        "recused_member_ids": outcome.recused_member_ids,
    }


def expire_if_due(session: Session, request: SpendingRequest, actor: Actor | None) -> bool:
    """Record that an undecided request expired (it commits nothing)."""
    if request.status == "pending" and request.current_status == "expired":
        before = snapshot(request)
        request.status = "expired"
        request.decided_at = request.expires_at
        record(session, actor, "spending_request.expired", request, before=before)
        _tell_decided(session, actor, request)
        return True
    return False


def expire_due(session: Session) -> list[int]:
    """The sweep: record every pending request whose time is up. Returns their ids."""
    due = session.scalars(
        select(SpendingRequest.id)
        .where(SpendingRequest.status == "pending", SpendingRequest.expires_at <= utcnow())
        .order_by(SpendingRequest.id)
    ).all()
    expired = []
    for request_id in due:
        if expire_if_due(session, lock_request(session, request_id), None):
            expired.append(request_id)
    return expired


def cast_vote(
    session: Session,
    actor: Actor,
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
    recusal = recusal_for(session, request)
    if actor.id in recusal.recused_member_ids:
        raise ConflictOfInterest(
            f"You declared a conflict of interest with payee {request.payee_id} (or a party "
            "behind it): you are recused from its requests.",
            spending_request_id=request.id,
            payee_id=request.payee_id,
        )
    payee = get_or_404(session, Payee, request.payee_id)
    if decision == "approve":
        assert_payable(
            session, payee, action="approve", actor_id=actor.id, spending_request_id=request.id
        )
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
    outcome = outcome_of(policy, request, fund, recusal)
    if outcome.status != "pending":
        before = snapshot(request)
        tier = policy.tier_for(Money(request.base_amount_minor, fund.base_currency))
        request.status = outcome.status
        request.decided_at = utcnow()
        request.policy_version = policy.version
        request.tier = tier.name
        request.decision = _decision_record(policy, tier.name, outcome, outcome.status)
        if outcome.status == "approved":
            _commit_funds(session, actor, request, fund)
        record(session, actor, f"spending_request.{outcome.status}", request, before=before)
        _tell_decided(session, actor, request)
    return request, vote, outcome


def _commit_funds(session: Session, actor: Actor, request: SpendingRequest, fund: Fund) -> None:
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
    if request.tranches:
        request.tranches[0].released_at = utcnow()


# ---------------------------------------------------------------- after the decision


def withdraw_request(
    session: Session, actor: Actor, *, request_id: int, reason: str
) -> SpendingRequest:
    """The submitter takes back a request the committee has not decided."""
    request = lock_request(session, request_id)
    if request.submitted_by != actor.id:
        raise Forbidden("Only the request's submitter withdraws it.")
    expire_if_due(session, request, actor)
    if request.status != "pending":
        raise NotPending(
            f"Spending request {request.id} is {request.status}; it cannot be withdrawn."
        )
    before = snapshot(request)
    request.status = "withdrawn"
    request.decided_at = utcnow()
    request.closed_reason = reason
    record(session, actor, "spending_request.withdrawn", request, before=before)
    return request


def commitment_base_outstanding(session: Session, request: SpendingRequest) -> int:
    """Base-currency amount of the request's commitment that stands now: its
    commitment lines summed. The commitment, less what payments and decreases
    released, plus what returned payments re-committed."""
    outstanding = session.scalar(
        select(func.coalesce(func.sum(JournalLine.base_amount_minor), 0)).where(
            JournalLine.spending_request_id == request.id,
            JournalLine.account == COMMITMENTS,
        )
    )
    return int(outstanding or 0)


def release_base_for(session: Session, request: SpendingRequest, release_minor: int) -> int:
    """The base amount that goes with releasing ``release_minor`` of the request's
    commitment: at the request's rate, and exactly what stands of it when it is the
    last (a returned payment re-committed its part: that stands too)."""
    open_minor = request.amount_minor - request.disbursed_minor
    if release_minor == open_minor:
        return commitment_base_outstanding(session, request)
    rate = request.fx_rate or Decimal(1)
    return Money(release_minor, request.currency).convert(rate, request.base_currency).minor


def decrease_request(
    session: Session,
    actor: Actor,
    *,
    request_id: int,
    new_amount: Money,
    reason: str,
    cancel: bool = False,
) -> SpendingRequest:
    """Lower an approved request to ``new_amount`` (never below what is paid) and
    release the rest of its commitment: a journal entry and released allocations.
    ``cancel`` lowers it to what is paid and closes it."""
    request = lock_request(session, request_id)
    if request.status != "approved":
        raise NotApproved(
            f"Spending request {request.id} is {request.status}; only approved requests are "
            "decreased or cancelled.",
            spending_request_id=request.id,
        )
    if new_amount.currency != request.currency:
        raise ValidationFailed("currency", f"The approval is in {request.currency}.")
    if new_amount.minor < request.disbursed_minor:
        raise ValidationFailed(
            "amount", f"{request.disbursed} {request.currency} is paid already; it cannot go lower."
        )
    if new_amount.minor >= request.amount_minor and not cancel:
        raise ValidationFailed(
            "amount",
            "A decrease lowers the amount; to increase it, submit a new request with "
            "amends_request_id.",
        )
    release = request.amount_minor - new_amount.minor
    before = snapshot(request)
    if release:
        release_base = release_base_for(session, request, release)
        fund = get_or_404(session, Fund, request.fund_id)
        post_entry(
            session,
            fund_id=fund.id,
            kind="commitment_release",
            value_date=utcnow().date(),
            memo=f"{'Cancellation' if cancel else 'Decrease'} of spending request {request.id}: "
            f"{reason}"[:500],
            source=("spending_request", request.id),
            lines=pair(
                COMMITMENT_RESERVE,
                COMMITMENTS,
                request.currency,
                release,
                release_base,
                request_dimensions(request),
            ),
            actor=actor,
        )
        release_allocations(session, request.id, release_base)
        _shrink_tranches(request, new_amount.minor)
    session.add(
        RequestAmendment(
            spending_request_id=request.id,
            kind="cancel" if cancel else "decrease",
            old_minor=request.amount_minor,
            new_minor=new_amount.minor,
            reason=reason,
            actor_id=actor.id,
        )
    )
    request.amount_minor = new_amount.minor
    if cancel:
        request.status = "cancelled"
        request.closed_reason = reason
    record(
        session,
        actor,
        "spending_request.cancelled" if cancel else "spending_request.decreased",
        request,
        before=before,
    )
    return request


def _shrink_tranches(request: SpendingRequest, new_total: int) -> None:
    """Take a decrease off the last tranches first."""
    excess = sum(t.amount_minor for t in request.tranches) - new_total
    for tranche in reversed(request.tranches):
        if excess <= 0:
            break
        cut = min(excess, tranche.amount_minor)
        tranche.amount_minor -= cut
        excess -= cut


def cancel_request(
    session: Session, actor: Actor, *, request_id: int, reason: str
) -> SpendingRequest:
    request = get_or_404(session, SpendingRequest, request_id)
    return decrease_request(
        session,
        actor,
        request_id=request_id,
        new_amount=Money(request.disbursed_minor, request.currency),
        reason=reason,
        cancel=True,
    )


# ---------------------------------------------------------------- tranches


def paid_in_tranche(request: SpendingRequest, tranche: Tranche) -> int:
    before = sum(t.amount_minor for t in request.tranches if t.seq < tranche.seq)
    return max(0, min(request.disbursed_minor - before, tranche.amount_minor))


def report_use(
    session: Session,
    actor: Actor,
    *,
    request_id: int,
    seq: int,
    amount_used: Money,
    reference: str,
    note: str | None,
) -> TrancheUseReport:
    """Record the payee's report of how much of a tranche it has used."""
    request = lock_request(session, request_id)
    tranche = next((t for t in request.tranches if t.seq == seq), None)
    if tranche is None:
        raise NotFound(f"Spending request {request.id} has no tranche {seq}.")
    if amount_used.currency != request.currency:
        raise ValidationFailed("currency", f"The approval is in {request.currency}.")
    if tranche.released_at is None:
        raise Conflict(f"Tranche {seq} is not released yet; nothing of it can have been used.")
    reported = session.scalar(
        select(func.coalesce(func.sum(TrancheUseReport.amount_used_minor), 0)).where(
            TrancheUseReport.tranche_id == tranche.id, TrancheUseReport.status != "rejected"
        )
    )
    paid = paid_in_tranche(request, tranche)
    if int(reported or 0) + amount_used.minor > paid:
        raise ValidationFailed(
            "amount_used",
            f"Reported use of tranche {seq} would exceed what was paid in it "
            f"({Money(paid, request.currency)} {request.currency}).",
        )
    report = TrancheUseReport(
        tranche_id=tranche.id,
        spending_request_id=request.id,
        amount_used_minor=amount_used.minor,
        reference=reference,
        note=note,
        reported_by=actor.id,
    )
    session.add(report)
    record(session, actor, "tranche_use.reported", report)
    return report


def review_use(
    session: Session,
    actor: Actor,
    *,
    report_id: int,
    accept: bool,
    note: str,
    release_share: Decimal,
) -> TrancheUseReport:
    """Accept or reject a use report (not by whoever recorded it). Accepted use of
    tranche n reaching ``release_share`` of it releases tranche n+1."""
    report = get_or_404(session, TrancheUseReport, report_id)
    request = lock_request(session, report.spending_request_id)
    session.refresh(report)
    if report.status != "submitted":
        raise Conflict(f"Use report {report.id} was {report.status} already.")
    if report.reported_by == actor.id:
        raise SeparationOfDuties(
            "Whoever recorded a use report cannot accept or reject it.",
            spending_request_id=request.id,
        )
    before = snapshot(report)
    report.status = "accepted" if accept else "rejected"
    report.reviewed_by = actor.id
    report.reviewed_at = utcnow()
    report.review_note = note
    session.flush()
    record(session, actor, f"tranche_use.{report.status}", report, before=before)
    if accept:
        tranche = next(t for t in request.tranches if t.id == report.tranche_id)
        accepted = session.scalar(
            select(func.coalesce(func.sum(TrancheUseReport.amount_used_minor), 0)).where(
                TrancheUseReport.tranche_id == tranche.id, TrancheUseReport.status == "accepted"
            )
        )
        following = next((t for t in request.tranches if t.seq == tranche.seq + 1), None)
        enough = Decimal(int(accepted or 0)) >= release_share * tranche.amount_minor
        if following is not None and following.released_at is None and enough:
            following.released_at = utcnow()
            record(session, actor, "tranche.released", following)
    return report


def use_reports_query(request_id: int) -> sa.Select[Any]:
    """Every use report of a request's tranches (page it by id)."""
    return select(TrancheUseReport).where(TrancheUseReport.spending_request_id == request_id)


def tranche_state(session: Session, request: SpendingRequest) -> list[dict[str, Any]]:
    accepted = dict(
        session.execute(
            select(TrancheUseReport.tranche_id, func.sum(TrancheUseReport.amount_used_minor))
            .where(
                TrancheUseReport.spending_request_id == request.id,
                TrancheUseReport.status == "accepted",
            )
            .group_by(TrancheUseReport.tranche_id)
        ).all()
    )
    return [
        {
            "seq": t.seq,
            "amount": str(Money(t.amount_minor, request.currency)),
            "released": t.released_at is not None,
            "released_at": t.released_at,
            "paid": str(Money(paid_in_tranche(request, t), request.currency)),
            "use_accepted": str(Money(int(accepted.get(t.id, 0)), request.currency)),
        }
        for t in request.tranches
    ]


# ---------------------------------------------------------------- queue and register


def conflicted_payee_ids(session: Session, member_id: int) -> sa.Select[tuple[int]]:
    """The payees a member is recused from, as a subquery: those declared, and
    those that a declared payee stands behind."""
    declared = select(ConflictDeclaration.payee_id).where(
        ConflictDeclaration.member_id == member_id, ConflictDeclaration.withdrawn_at.is_(None)
    )
    behind = select(RelatedParty.payee_id).where(RelatedParty.linked_payee_id.in_(declared))
    return declared.union(behind)  # type: ignore[return-value]


def member_queue(session: Session, member: Actor) -> list[SpendingRequest]:
    """Undecided requests that wait for this member's vote: not theirs, not voted
    on by them, not conflicted, not expired; the soonest to expire first."""
    voted = select(Vote.spending_request_id).where(Vote.member_id == member.id)
    return list(
        session.scalars(
            select(SpendingRequest)
            .where(
                SpendingRequest.status == "pending",
                SpendingRequest.expires_at > utcnow(),
                SpendingRequest.submitted_by != member.id,
                SpendingRequest.id.not_in(voted),
                SpendingRequest.payee_id.not_in(conflicted_payee_ids(session, member.id)),
            )
            .order_by(SpendingRequest.expires_at, SpendingRequest.id)
        )
    )
