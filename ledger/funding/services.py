"""Funds, donors, pledges and contributions: money promised and money received."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.audit.services import record, snapshot
from ledger.auth.models import Actor
from ledger.db import get_or_404, lock_row
from ledger.errors import Conflict, ExceedsPledge, ReferenceInUse, ValidationFailed
from ledger.funding.models import Contribution, Donor, Fund, Pledge
from ledger.journal.services import (
    CASH,
    CONTRIBUTIONS_PLEDGED,
    CONTRIBUTIONS_UNPLEDGED,
    FX_DIFFERENCES,
    PLEDGES_RECEIVABLE,
    Line,
    assert_value_date_sane,
    pair,
    post_entry,
)
from ledger.money import Money
from ledger.projects.models import Project

# Amounts are BIGINT minor units; keep well inside, so that sums stay exact too.
MAX_BASE_MINOR = 10**17


def to_base(money: Money, fund: Fund, fx_rate: Decimal | None, field: str = "fx_rate") -> Money:
    """``money`` in the fund's base currency. A rate is required exactly when the
    currencies differ (and refused when they do not: it would mean nothing)."""
    if money.currency == fund.base_currency:
        if fx_rate is not None and fx_rate != 1:
            raise ValidationFailed(field, f"No rate applies: the fund's base is {money.currency}.")
        return money
    if fx_rate is None:
        raise ValidationFailed(
            field,
            f"Required: the rate from {money.currency} to the fund's base currency "
            f"{fund.base_currency}.",
        )
    base = money.convert(fx_rate, fund.base_currency)
    if abs(base.minor) >= MAX_BASE_MINOR:
        raise ValidationFailed("amount", f"Too large once converted to {fund.base_currency}.")
    return base


def create_fund(
    session: Session,
    actor: Actor,
    *,
    name: str,
    base_currency: str,
    opens_on: dt.date | None = None,
) -> Fund:
    """A fund, with its base (reporting) currency and, if given, the date it opens:
    no entry of it is dated before (``journal.services.assert_value_date_sane``)."""
    if session.scalar(select(Fund.id).where(Fund.name == name)) is not None:
        raise Conflict(f"A fund named '{name}' exists already.")
    if opens_on is not None:
        assert_value_date_sane(opens_on, field="opens_on")
    fund = Fund(name=name, base_currency=base_currency, opens_on=opens_on)
    session.add(fund)
    record(session, actor, "fund.created", fund)
    return fund


def create_donor(
    session: Session, actor: Actor, *, name: str, kind: str, country: str, iati_ref: str | None
) -> Donor:
    if session.scalar(select(Donor.id).where(Donor.name == name)) is not None:
        raise Conflict(f"A donor named '{name}' exists already.")
    donor = Donor(name=name, kind=kind, country=country, iati_ref=iati_ref)
    session.add(donor)
    record(session, actor, "donor.created", donor)
    return donor


def create_pledge(
    session: Session,
    actor: Actor,
    *,
    fund_id: int,
    donor_id: int,
    amount: Money,
    pledged_on: dt.date,
    fx_rate: Decimal | None = None,
    earmark: dict[str, object] | None = None,
) -> Pledge:
    """Record a donor's promise, and post it: receivable against pledged revenue."""
    fund = get_or_404(session, Fund, fund_id)
    donor = get_or_404(session, Donor, donor_id)
    base = to_base(amount, fund, fx_rate)
    earmark = earmark or {}
    project_id = earmark.get("project_id")
    if project_id is not None:
        project = session.get(Project, project_id)
        if project is None or project.fund_id != fund.id:
            raise ValidationFailed("earmark.project_id", f"No project {project_id} in this fund.")
    pledge = Pledge(
        fund_id=fund.id,
        donor_id=donor.id,
        amount_minor=amount.minor,
        currency=amount.currency,
        fx_rate=fx_rate if amount.currency != fund.base_currency else None,
        base_amount_minor=base.minor,
        pledged_on=pledged_on,
        earmark_sector=earmark.get("sector"),
        earmark_location=earmark.get("location"),
        earmark_project_id=project_id,
        created_by=actor.id,
    )
    session.add(pledge)
    session.flush()
    post_entry(
        session,
        fund_id=fund.id,
        kind="pledge",
        value_date=pledged_on,
        memo=f"Pledge {pledge.id} by {donor.name}",
        source=("pledge", pledge.id),
        lines=pair(
            PLEDGES_RECEIVABLE,
            CONTRIBUTIONS_PLEDGED,
            amount.currency,
            amount.minor,
            base.minor,
            {"donor_id": donor.id, "pledge_id": pledge.id},
        ),
        actor=actor,
    )
    record(session, actor, "pledge.created", pledge)
    return pledge


def _receivable_base_credited(session: Session, pledge: Pledge) -> int:
    from sqlalchemy import func

    from ledger.journal.models import JournalLine

    credited = session.scalar(
        select(func.coalesce(func.sum(JournalLine.base_amount_minor), 0)).where(
            JournalLine.pledge_id == pledge.id,
            JournalLine.account == PLEDGES_RECEIVABLE,
            JournalLine.kind == "contribution",
        )
    )
    return -int(credited or 0)


def record_contribution(
    session: Session,
    actor: Actor,
    *,
    pledge_id: int,
    amount: Money,
    received_on: dt.date,
    reference: str,
    fx_rate: Decimal | None = None,
    over_contribution: bool = False,
) -> Contribution:
    """Record money received against a pledge.

    Never more than the pledge's outstanding amount, unless ``over_contribution``
    says so explicitly. The receivable is cleared at the pledge's rate; any
    difference with the rate of the day goes to ``fx_differences``, so that the
    entry balances in base currency and no cent disappears."""
    pledge = lock_row(session, Pledge, pledge_id)
    if pledge.status != "active":
        raise Conflict(f"Pledge {pledge.id} is {pledge.status}; it takes no contributions.")
    if amount.currency != pledge.currency:
        raise ValidationFailed(
            "currency", f"The pledge is in {pledge.currency}; record the contribution in it."
        )
    first = session.scalar(
        select(Contribution.id).where(
            Contribution.pledge_id == pledge.id, Contribution.reference == reference
        )
    )
    if first is not None:
        raise ReferenceInUse(
            f"Bank reference '{reference}' was received on pledge {pledge.id} already "
            f"(contribution {first}): a reference is recorded once.",
            errors={"reference": [f"Already used by contribution {first}."]},
            contribution_id=first,
        )
    fund = pledge.fund
    base = to_base(amount, fund, fx_rate)
    outstanding = pledge.outstanding
    against_pledge = min(amount.minor, outstanding.minor)
    over = amount.minor - against_pledge
    if over and not over_contribution:
        raise ExceedsPledge(
            f"Pledge {pledge.id} has {outstanding} {pledge.currency} outstanding; "
            f"{amount} is more. Record the excess with over_contribution: true.",
            outstanding=str(outstanding),
        )
    contribution = Contribution(
        pledge_id=pledge.id,
        fund_id=fund.id,
        amount_minor=amount.minor,
        currency=amount.currency,
        fx_rate=fx_rate if amount.currency != fund.base_currency else None,
        base_amount_minor=base.minor,
        received_on=received_on,
        reference=reference,
        over_minor=over,
        created_by=actor.id,
    )
    session.add(contribution)
    session.flush()

    dims = {"donor_id": pledge.donor_id, "pledge_id": pledge.id}
    # Clear the receivable at the pledge's own rate; the last receipt clears exactly
    # what remains of it in base, so rounding leaves nothing behind.
    if against_pledge == outstanding.minor:
        receivable_base = pledge.base_amount_minor - _receivable_base_credited(session, pledge)
    else:
        receivable_base = (
            Money(against_pledge, pledge.currency)
            .convert(pledge.fx_rate or Decimal(1), fund.base_currency)
            .minor
        )
    over_base = Money(over, amount.currency).convert(fx_rate or Decimal(1), fund.base_currency)
    lines = [
        Line(CASH, amount.currency, amount.minor, base.minor, dims),
        Line(PLEDGES_RECEIVABLE, amount.currency, -against_pledge, -receivable_base, dims),
    ]
    if over:
        lines.append(Line(CONTRIBUTIONS_UNPLEDGED, amount.currency, -over, -over_base.minor, dims))
    difference = base.minor - receivable_base - (over_base.minor if over else 0)
    if difference:
        lines.append(Line(FX_DIFFERENCES, amount.currency, 0, -difference, dims))
    post_entry(
        session,
        fund_id=fund.id,
        kind="contribution",
        value_date=received_on,
        memo=f"Contribution {contribution.id} against pledge {pledge.id} ({reference})",
        source=("contribution", contribution.id),
        lines=lines,
        actor=actor,
    )
    before = snapshot(pledge)
    pledge.received_minor += amount.minor
    record(session, actor, "contribution.recorded", contribution)
    record(session, actor, "pledge.received", pledge, before=before, after=snapshot(pledge))
    return contribution
