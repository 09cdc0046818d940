"""Funds, donors, pledges and the money received against them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ledger.db import Base, BigId, CurrencyCode, MinorUnits, Rate, Timestamp, intpk, utcnow
from ledger.money import Money

DONOR_KINDS = ("government", "multilateral", "ngo", "private")


class Fund(Base):
    __tablename__ = "funds"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    base_currency: Mapped[CurrencyCode]
    # No entry of the fund is dated before it (None: VALUE_DATE_EARLIEST holds).
    opens_on: Mapped[dt.date | None]
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)


class Donor(Base):
    __tablename__ = "donors"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    country: Mapped[str] = mapped_column(sa.String(2))
    iati_ref: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)


class Pledge(Base):
    __tablename__ = "pledges"

    id: Mapped[intpk]
    fund_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("funds.id"), index=True)
    donor_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("donors.id"), index=True)
    amount_minor: Mapped[MinorUnits]
    currency: Mapped[CurrencyCode]
    # Units of the fund's base currency per unit of ``currency``; None when equal.
    fx_rate: Mapped[Rate | None]
    base_amount_minor: Mapped[MinorUnits]
    pledged_on: Mapped[dt.date]
    earmark_sector: Mapped[str | None] = mapped_column(sa.String(40))
    earmark_location: Mapped[str | None] = mapped_column(sa.String(100))
    earmark_project_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("projects.id"))
    status: Mapped[str] = mapped_column(sa.String(20), default="active")
    received_minor: Mapped[MinorUnits] = mapped_column(default=0)
    created_by: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"))
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)

    fund: Mapped[Fund] = relationship(lazy="joined")
    donor: Mapped[Donor] = relationship(lazy="joined")

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)

    # An earmark's parts, each of which a use of the money must meet when it is set.
    EARMARK = ("earmark_sector", "earmark_location", "earmark_project_id")

    def allows(self, sector: Any, location: Any, project_id: Any) -> bool:
        """Whether this pledge's earmark lets its money go to a project of ``sector``
        and ``location`` (docs/accounting.md, the allocation rule): every part of the
        earmark it has is met. ``allowing`` is the same rule as SQL."""
        wanted = (sector, location, project_id)
        return all(getattr(self, p) in (None, w) for p, w in zip(self.EARMARK, wanted, strict=True))

    @classmethod
    def allowing(cls, sector: Any, location: Any, project_id: Any) -> sa.ColumnElement[bool]:
        """``allows`` as a condition on pledges, for a query."""
        wanted = (sector, location, project_id)
        return sa.and_(
            *(
                sa.or_(getattr(cls, p).is_(None), getattr(cls, p) == w)
                for p, w in zip(cls.EARMARK, wanted, strict=True)
            )
        )

    @property
    def base_currency(self) -> str:
        return self.fund.base_currency

    @property
    def received(self) -> Money:
        return Money(self.received_minor, self.currency)

    @property
    def outstanding(self) -> Money:
        return Money(max(self.amount_minor - self.received_minor, 0), self.currency)

    @property
    def earmark(self) -> dict[str, object] | None:
        if not (self.earmark_sector or self.earmark_location or self.earmark_project_id):
            return None
        return {
            "sector": self.earmark_sector,
            "location": self.earmark_location,
            "project_id": self.earmark_project_id,
        }


class Contribution(Base):
    __tablename__ = "contributions"

    id: Mapped[intpk]
    pledge_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("pledges.id"), index=True)
    fund_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("funds.id"), index=True)
    amount_minor: Mapped[MinorUnits]
    currency: Mapped[CurrencyCode]
    fx_rate: Mapped[Decimal | None]
    base_amount_minor: Mapped[MinorUnits]
    received_on: Mapped[dt.date]
    reference: Mapped[str] = mapped_column(sa.String(100))
    # The part beyond the pledge's outstanding amount, accepted only when asked for.
    over_minor: Mapped[MinorUnits] = mapped_column(default=0)
    # A returned transfer: the reversal is a new entry; this marks the contribution.
    reversed_at: Mapped[dt.datetime | None]
    reversal_reason: Mapped[str | None] = mapped_column(sa.String(2000))
    created_by: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"))
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)

    pledge: Mapped[Pledge] = relationship(lazy="joined")

    # A bank reference is received once per pledge (SPEC §3.11): checked by
    # record_contribution(), and held here too.
    __table_args__ = (sa.UniqueConstraint("pledge_id", "reference"),)

    @property
    def base_currency(self) -> str:
        return self.pledge.fund.base_currency

    @property
    def donor_id(self) -> int:
        return self.pledge.donor_id

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)


class Allocation(Base):
    """Which contribution's money backs which commitment, in base currency.

    Rows are appended, never changed: a release is a negative row. The free part of
    a contribution is its base amount less the sum of its allocations."""

    __tablename__ = "allocations"

    id: Mapped[intpk]
    contribution_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("contributions.id"), index=True
    )
    spending_request_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("spending_requests.id"), index=True
    )
    base_amount_minor: Mapped[MinorUnits]
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)


class PledgeAmendment(Base):
    """A change of a pledge's amount, or its cancellation, with the reason."""

    __tablename__ = "pledge_amendments"

    id: Mapped[intpk]
    pledge_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("pledges.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # "amend" | "cancel"
    old_minor: Mapped[MinorUnits]
    new_minor: Mapped[MinorUnits]
    value_date: Mapped[dt.date]
    reason: Mapped[str] = mapped_column(sa.String(2000))
    actor_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"))
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)

    pledge: Mapped[Pledge] = relationship(lazy="joined")

    @property
    def old_amount(self) -> str:
        return str(Money(self.old_minor, self.pledge.currency))

    @property
    def new_amount(self) -> str:
        return str(Money(self.new_minor, self.pledge.currency))


class DisbursementAllocation(Base):
    """Which contribution's money a disbursement paid out, in base currency: the
    request's allocations consumed in the order they were made. A reversal is a
    negative row."""

    __tablename__ = "disbursement_allocations"

    id: Mapped[intpk]
    disbursement_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("disbursements.id"), index=True
    )
    contribution_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("contributions.id"), index=True
    )
    spending_request_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("spending_requests.id"))
    base_amount_minor: Mapped[MinorUnits]
    # What the request's payments have used of the contribution, this row included:
    # the running total, so that a payment reads one row (the request's last for
    # the contribution) instead of adding up every earlier one. Written under the
    # request's row lock, like the row itself.
    used_after_minor: Mapped[MinorUnits]
    value_date: Mapped[dt.date]
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)

    # The request's last row per contribution, read at every payment
    # (allocate_disbursement): the newest entry of one index range.
    # It also serves every lookup by request alone, which needs no index of its own.
    __table_args__ = (
        sa.Index(
            "ix_disbursement_allocations_request_contribution_id",
            "spending_request_id",
            "contribution_id",
            "id",
        ),
    )


class ClosedPeriod(Base):
    """A closed month of a fund: no entry may carry a value date inside it."""

    __tablename__ = "closed_periods"

    id: Mapped[intpk]
    fund_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("funds.id"), index=True)
    period: Mapped[str] = mapped_column(sa.String(7))  # "YYYY-MM"
    starts_on: Mapped[dt.date]
    ends_on: Mapped[dt.date]
    reason: Mapped[str] = mapped_column(sa.String(2000))
    closed_by: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"))
    closed_at: Mapped[Timestamp] = mapped_column(default=utcnow)

    __table_args__ = (sa.UniqueConstraint("fund_id", "period"),)

    @property
    def created_at(self) -> dt.datetime:
        return self.closed_at
