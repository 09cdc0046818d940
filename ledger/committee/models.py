"""Spending requests and the committee's votes on them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ledger.db import Base, BigId, CurrencyCode, MinorUnits, Timestamp, intpk, utcnow
from ledger.money import Money

if TYPE_CHECKING:
    from ledger.funding.models import Fund

REQUEST_STATES = ("pending", "approved", "rejected", "expired", "withdrawn", "cancelled")


class SpendingRequest(Base):
    __tablename__ = "spending_requests"

    id: Mapped[intpk]
    fund_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("funds.id"), index=True)
    project_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("projects.id"), index=True)
    payee_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("payees.id"), index=True)
    amount_minor: Mapped[MinorUnits]
    currency: Mapped[CurrencyCode]
    fx_rate: Mapped[Decimal | None]
    base_amount_minor: Mapped[MinorUnits]
    purpose: Mapped[str] = mapped_column(sa.String(2000))
    status: Mapped[str] = mapped_column(sa.String(20), default="pending", index=True)
    tier: Mapped[str] = mapped_column(sa.String(40))
    policy_version: Mapped[str] = mapped_column(sa.String(40))
    submitted_by: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None]
    expires_at: Mapped[dt.datetime | None]
    # Kept under the request's row lock: what has been paid against the approval.
    disbursed_minor: Mapped[MinorUnits] = mapped_column(default=0)
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)

    votes: Mapped[list[Vote]] = relationship(lazy="selectin", order_by="Vote.id")
    fund: Mapped[Fund] = relationship(lazy="joined")

    @property
    def base_currency(self) -> str:
        return self.fund.base_currency

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)

    @property
    def disbursed(self) -> Money:
        return Money(self.disbursed_minor, self.currency)

    @property
    def remaining(self) -> Money:
        if self.status != "approved":
            return Money.zero(self.currency)
        return Money(self.amount_minor - self.disbursed_minor, self.currency)


class Vote(Base):
    __tablename__ = "votes"

    id: Mapped[intpk]
    spending_request_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("spending_requests.id"), index=True
    )
    member_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"))
    institution: Mapped[str] = mapped_column(sa.String(100))
    is_chair: Mapped[bool]
    decision: Mapped[str] = mapped_column(sa.String(10))
    comment: Mapped[str] = mapped_column(sa.String(2000))
    cast_at: Mapped[Timestamp] = mapped_column(default=utcnow)

    # One vote per member per request, enforced by the database too.
    __table_args__ = (sa.UniqueConstraint("spending_request_id", "member_id"),)
