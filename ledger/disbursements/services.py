"""Paying out against an approved request: bounded by the approval under any
concurrency, and refused at the moment of payment for a restricted payee."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ledger.audit.services import record, snapshot
from ledger.auth.models import Actor
from ledger.committee.services import (
    add_disbursed,
    assert_not_voter,
    assert_paid_after_approval,
    assert_reference_unused,
    lock_request,
    lock_request_to_pay,
    release_base_for,
    request_dimensions,
)
from ledger.compliance.payability import assert_payable
from ledger.db import get_or_404, insert_row, lock_row, utcnow
from ledger.disbursements.models import CHUNK_REFERENCE_PREFIX, Disbursement
from ledger.errors import (
    AlreadyReversed,
    ExceedsApproval,
    NotApproved,
    TrancheLocked,
    ValidationFailed,
)
from ledger.funding.allocation import allocate_disbursement, used_so_far
from ledger.funding.models import DisbursementAllocation, Fund
from ledger.funding.services import to_base
from ledger.journal.models import JournalEntry
from ledger.journal.services import (
    CASH,
    COMMITMENT_RESERVE,
    COMMITMENTS,
    DISBURSEMENTS,
    Line,
    assert_value_date_sane,
    post_entry,
    reverse_entry,
)
from ledger.money import Money
from ledger.payees.models import Payee

_WITH_PARTIES = joinedload(Payee.related_parties)


def disburse(
    session: Session,
    actor: Actor,
    *,
    spending_request_id: int,
    amount: Money,
    reference: str,
    paid_on: dt.date,
    fx_rate: Decimal | None = None,
) -> Disbursement:
    """Pay ``amount`` against an approved request.

    The request's row is locked before its remaining amount is read, so that
    concurrent disbursements are serialised and never exceed the approval. The
    payee is checked again now: a restriction set after approval still refuses."""
    lock = lock_request_to_pay(session, spending_request_id, actor.id, reference, paid_on)
    request = lock.request
    if request.status != "approved":
        raise NotApproved(
            f"Spending request {request.id} is {request.status}; only approved requests are paid.",
            spending_request_id=request.id,
            payee_id=request.payee_id,
        )
    if amount.currency != request.currency:
        raise ValidationFailed(
            "currency", f"The approval is in {request.currency}; disburse in it."
        )
    assert_not_voter(lock)
    assert_value_date_sane(paid_on, opens_on=request.fund.opens_on, field="paid_on")
    assert_paid_after_approval(request, paid_on)
    assert_reference_unused(lock, reference)
    if reference.upper().startswith(CHUNK_REFERENCE_PREFIX):
        # A batch's chunks are paid under these (a reference pays once in a fund).
        raise ValidationFailed(
            "reference", f"References beginning {CHUNK_REFERENCE_PREFIX} are the batches' own."
        )
    remaining = request.remaining
    if amount.minor > remaining.minor:
        raise ExceedsApproval(
            f"Spending request {request.id} has {remaining} {request.currency} left to pay; "
            f"{amount} is more.",
            remaining=str(remaining),
            spending_request_id=request.id,
            payee_id=request.payee_id,
        )
    payable = lock.payable_limit_minor - request.disbursed_minor
    if amount.minor > payable:
        released = [t.seq for t in request.tranches if t.released_at is not None]
        raise TrancheLocked(
            f"Spending request {request.id} may pay {Money(payable, request.currency)} "
            f"{request.currency} now: tranche {max(released) + 1} is released once the payee's "
            f"use of tranche {max(released)} is accepted.",
            payable=str(Money(payable, request.currency)),
            spending_request_id=request.id,
            payee_id=request.payee_id,
        )
    # The payee with its parties in one statement (a join, not selectin's second).
    payee = get_or_404(session, Payee, request.payee_id, _WITH_PARTIES)
    screening = assert_payable(
        session,
        payee,
        action="disburse",
        actor_id=actor.id,
        spending_request_id=request.id,
        latest_lists=lock.latest_lists,
    )
    fund = get_or_404(session, Fund, request.fund_id)
    base = to_base(amount, fund, fx_rate)
    commitment_base = release_base_for(session, request, amount.minor)

    disbursement = insert_row(
        session,
        Disbursement,
        {
            "spending_request_id": request.id,
            "fund_id": fund.id,
            "payee_id": payee.id,
            "amount_minor": amount.minor,
            "currency": amount.currency,
            "fx_rate": fx_rate if amount.currency != fund.base_currency else None,
            "base_amount_minor": base.minor,
            "reference": reference,
            "paid_on": paid_on,
            "screening": screening,
            "created_by": actor.id,
            "created_at": utcnow(),
        },
    )
    disbursement.fund = fund
    dims = request_dimensions(request)
    post_entry(
        session,
        fund_id=fund.id,
        kind="disbursement",
        value_date=paid_on,
        memo=f"Disbursement {disbursement.id} to {payee.name} ({reference})",
        source=("disbursement", disbursement.id),
        lines=[
            Line(DISBURSEMENTS, amount.currency, amount.minor, base.minor, dims),
            Line(CASH, amount.currency, -amount.minor, -base.minor, dims),
            Line(COMMITMENT_RESERVE, amount.currency, amount.minor, commitment_base, dims),
            Line(COMMITMENTS, amount.currency, -amount.minor, -commitment_base, dims),
        ],
        actor=actor,
        dates=(lock.closed_period, fund.opens_on),
    )
    allocate_disbursement(
        session,
        spending_request_id=request.id,
        disbursement_id=disbursement.id,
        base_minor=commitment_base,
        value_date=paid_on,
    )
    before = snapshot(request)
    add_disbursed(session, request, amount.minor)
    record(session, actor, "disbursement.made", disbursement)
    record(session, actor, "spending_request.disbursed", request, before=before)
    return disbursement


def reverse_disbursement(
    session: Session,
    actor: Actor,
    *,
    disbursement_id: int,
    reason: str,
    value_date: dt.date,
) -> Disbursement:
    """A payment returned by the bank: a new entry that puts the cash back and
    restores the commitment, and the payment's attribution to contributions undone.
    The approval can be paid again (to a corrected account, say)."""
    found = get_or_404(session, Disbursement, disbursement_id)
    request = lock_request(session, found.spending_request_id)
    disbursement = lock_row(session, Disbursement, disbursement_id)
    if disbursement.reversed_at is not None:
        raise AlreadyReversed(f"Disbursement {disbursement.id} was reversed already.")
    if request.status != "approved":
        raise NotApproved(
            f"Spending request {request.id} is {request.status}: a returned payment on it "
            "cannot restore its commitment. Record the return against the fund manually.",
            spending_request_id=request.id,
        )
    original = session.scalars(
        select(JournalEntry).where(
            JournalEntry.source_type == "disbursement",
            JournalEntry.source_id == disbursement.id,
            JournalEntry.reverses_id.is_(None),
        )
    ).one()
    reverse_entry(
        session,
        original,
        kind="disbursement_reversal",
        value_date=value_date,
        memo=f"Return of disbursement {disbursement.id} ({disbursement.reference}): {reason}",
        source=("disbursement", disbursement.id),
        actor=actor,
    )
    attributed = session.scalars(
        select(DisbursementAllocation).where(
            DisbursementAllocation.disbursement_id == disbursement.id
        )
    ).all()
    for row in attributed:
        used = session.scalar(select(used_so_far(row.spending_request_id, row.contribution_id)))
        session.add(
            DisbursementAllocation(
                disbursement_id=row.disbursement_id,
                contribution_id=row.contribution_id,
                spending_request_id=row.spending_request_id,
                base_amount_minor=-row.base_amount_minor,
                used_after_minor=(used or 0) - row.base_amount_minor,
                value_date=value_date,
            )
        )
    before_request = snapshot(request)
    before = snapshot(disbursement)
    request.disbursed_minor -= disbursement.amount_minor
    disbursement.reversed_at = utcnow()
    disbursement.reversal_reason = reason
    record(session, actor, "disbursement.reversed", disbursement, before=before)
    record(session, actor, "spending_request.payment_returned", request, before=before_request)
    return disbursement
