"""Corrections without rewriting: pledge amendments and cancellations, returned
contributions, and closing periods. Each correction is a new balanced entry that
points back at what it corrects; nothing already posted changes."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.audit.checkpoints import has_signing_key, sign_checkpoint
from ledger.audit.services import record, snapshot
from ledger.auth.models import Actor
from ledger.db import get_or_404, lock_row, utcnow
from ledger.errors import (
    AlreadyReversed,
    Conflict,
    ContributionCommitted,
    ValidationFailed,
)
from ledger.funding.models import (
    Allocation,
    ClosedPeriod,
    Contribution,
    Fund,
    Pledge,
    PledgeAmendment,
)
from ledger.journal.models import JournalEntry
from ledger.journal.services import (
    CONTRIBUTIONS_PLEDGED,
    PLEDGES_RECEIVABLE,
    pair,
    post_entry,
    reverse_entry,
)
from ledger.money import Money


def _lock_pledge(session: Session, pledge_id: int) -> Pledge:
    return lock_row(session, Pledge, pledge_id)


def amend_pledge(
    session: Session,
    actor: Actor,
    *,
    pledge_id: int,
    new_amount: Money,
    reason: str,
    value_date: dt.date,
    cancel: bool = False,
) -> Pledge:
    """Change what a donor promised (never below what it has paid), posting the
    difference; ``cancel`` lowers it to what was received and closes it."""
    pledge = _lock_pledge(session, pledge_id)
    if pledge.status != "active":
        raise Conflict(f"Pledge {pledge.id} is {pledge.status}.")
    if new_amount.currency != pledge.currency:
        raise ValidationFailed("currency", f"The pledge is in {pledge.currency}.")
    if new_amount.minor < pledge.received_minor:
        raise ValidationFailed(
            "amount",
            f"{pledge.received} {pledge.currency} is received already; the pledge cannot go lower.",
        )
    if new_amount.minor == pledge.amount_minor and not cancel:
        raise ValidationFailed("amount", "That is the pledge's amount already.")
    difference = new_amount.minor - pledge.amount_minor
    rate = pledge.fx_rate or Decimal(1)
    base_difference = (
        Money(abs(difference), pledge.currency).convert(rate, pledge.fund.base_currency).minor
    )
    base_difference = base_difference if difference > 0 else -base_difference
    before = snapshot(pledge)
    if difference:
        post_entry(
            session,
            fund_id=pledge.fund_id,
            kind="pledge_amendment",
            value_date=value_date,
            memo=f"{'Cancellation' if cancel else 'Amendment'} of pledge {pledge.id}: {reason}",
            source=("pledge", pledge.id),
            lines=pair(
                PLEDGES_RECEIVABLE,
                CONTRIBUTIONS_PLEDGED,
                pledge.currency,
                difference,
                base_difference,
                {"donor_id": pledge.donor_id, "pledge_id": pledge.id},
            ),
            actor=actor,
        )
    session.add(
        PledgeAmendment(
            pledge_id=pledge.id,
            kind="cancel" if cancel else "amend",
            old_minor=pledge.amount_minor,
            new_minor=new_amount.minor,
            value_date=value_date,
            reason=reason,
            actor_id=actor.id,
        )
    )
    pledge.amount_minor = new_amount.minor
    pledge.base_amount_minor += base_difference
    if cancel:
        pledge.status = "cancelled"
    record(
        session,
        actor,
        "pledge.cancelled" if cancel else "pledge.amended",
        pledge,
        before=before,
    )
    return pledge


def cancel_pledge(
    session: Session, actor: Actor, *, pledge_id: int, reason: str, value_date: dt.date
) -> Pledge:
    pledge = get_or_404(session, Pledge, pledge_id)
    return amend_pledge(
        session,
        actor,
        pledge_id=pledge_id,
        new_amount=Money(pledge.received_minor, pledge.currency),
        reason=reason,
        value_date=value_date,
        cancel=True,
    )


def reverse_contribution(
    session: Session, actor: Actor, *, contribution_id: int, reason: str, value_date: dt.date
) -> Contribution:
    """A transfer returned to the donor: a new entry negating the receipt. Only
    money that is not committed can go back (release the commitment first)."""
    found = get_or_404(session, Contribution, contribution_id)
    pledge = _lock_pledge(session, found.pledge_id)
    contribution = lock_row(session, Contribution, contribution_id)
    if contribution.reversed_at is not None:
        raise AlreadyReversed(f"Contribution {contribution.id} was reversed already.")
    committed = int(
        session.scalar(
            select(func.coalesce(func.sum(Allocation.base_amount_minor), 0)).where(
                Allocation.contribution_id == contribution.id
            )
        )
        or 0
    )
    if committed > 0:
        fund = pledge.fund
        raise ContributionCommitted(
            f"{Money(committed, fund.base_currency)} {fund.base_currency} of contribution "
            f"{contribution.id} backs commitments; release them before returning the money.",
            committed=str(Money(committed, fund.base_currency)),
        )
    original = session.scalars(
        select(JournalEntry).where(
            JournalEntry.source_type == "contribution",
            JournalEntry.source_id == contribution.id,
            JournalEntry.reverses_id.is_(None),
        )
    ).one()
    reverse_entry(
        session,
        original,
        kind="contribution_reversal",
        value_date=value_date,
        memo=f"Return of contribution {contribution.id} ({contribution.reference}): {reason}",
        source=("contribution", contribution.id),
        actor=actor,
    )
    before = snapshot(contribution)
    before_pledge = snapshot(pledge)
    contribution.reversed_at = utcnow()
    contribution.reversal_reason = reason
    pledge.received_minor -= contribution.amount_minor
    record(session, actor, "contribution.reversed", contribution, before=before)
    record(session, actor, "pledge.received", pledge, before=before_pledge)
    return contribution


_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])\Z")


def close_period(
    session: Session, actor: Actor, *, fund_id: int, period: str, reason: str
) -> ClosedPeriod:
    """Close a month: from now on no entry may be dated inside it, so every report
    as of a date inside it stays as it is. Only a month that has ended closes."""
    fund = get_or_404(session, Fund, fund_id)
    match = _PERIOD.match(period)
    if match is None:
        raise ValidationFailed("period", "A period is a month, written YYYY-MM.")
    year, month = int(match[1]), int(match[2])
    starts = dt.date(year, month, 1)
    ends = dt.date(year, month, calendar.monthrange(year, month)[1])
    if ends >= utcnow().date():
        raise ValidationFailed("period", f"{period} has not ended yet; it cannot be closed.")
    taken = select(ClosedPeriod.id).where(
        ClosedPeriod.fund_id == fund.id, ClosedPeriod.period == period
    )
    if session.scalar(taken) is not None:
        raise Conflict(f"{period} is closed already for fund {fund.id}.")
    closed = ClosedPeriod(
        fund_id=fund.id,
        period=period,
        starts_on=starts,
        ends_on=ends,
        reason=reason,
        closed_by=actor.id,
    )
    session.add(closed)
    record(session, actor, "period.closed", closed)
    # The chain as it stood at the close, signed with the key outside the database
    # (when one is configured): docs/security.md, "Checkpoints".
    if has_signing_key():
        sign_checkpoint(session, actor, f"period close {period}, fund {fund.id}")
    return closed
