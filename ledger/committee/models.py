"""Spending requests and the committee's votes on them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

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
    # What was asked for; ``amount_minor`` is what stands now (after decreases).
    requested_minor: Mapped[MinorUnits]
    # An increase is a new request that references the one it increases.
    amends_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("spending_requests.id"))
    status: Mapped[str] = mapped_column(sa.String(20), default="pending", index=True)
    tier: Mapped[str] = mapped_column(sa.String(40))
    policy_version: Mapped[str] = mapped_column(sa.String(40))
    submitted_by: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None]
    # The quorum as it stood when the request was decided, under ``policy_version``:
    # what was required, who approved, who was recused. Never recomputed.
    decision: Mapped[dict[str, Any] | None]
    expires_at: Mapped[dt.datetime | None]
    closed_reason: Mapped[str | None] = mapped_column(sa.String(2000))
    # Kept under the request's row lock: what has been paid against the approval.
    disbursed_minor: Mapped[MinorUnits] = mapped_column(default=0)
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)

    votes: Mapped[list[Vote]] = relationship(lazy="selectin", order_by="Vote.id")
    tranches: Mapped[list[Tranche]] = relationship(lazy="selectin", order_by="Tranche.seq")
    fund: Mapped[Fund] = relationship(lazy="joined")

    @property
    def current_status(self) -> str:
        """The status as of now: a pending request past its expiry reads as expired
        even before the sweep (or the next write) records it."""
        due = self.expires_at is not None and self.expires_at <= utcnow()
        return "expired" if self.status == "pending" and due else self.status

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

    @property
    def payable_limit_minor(self) -> int:
        """How much may be paid in all: the approval, or, with a tranche schedule, the
        sum of the tranches released so far."""
        if not self.tranches:
            return self.amount_minor
        return sum(t.amount_minor for t in self.tranches if t.released_at is not None)

    @property
    def payable_now(self) -> Money:
        """What one payment may take now: the approval or the tranches released so
        far, less what is paid. ``disburse()`` refuses more with ``tranche_locked``
        (reading the same limit under the request's lock: ``lock_request_to_pay``)."""
        return Money(self.payable_limit_minor - self.disbursed_minor, self.currency)


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

    @property
    def created_at(self) -> dt.datetime:
        return self.cast_at


class RequestAmendment(Base):
    """A decrease or cancellation of an approved request: what stood, what stands."""

    __tablename__ = "request_amendments"

    id: Mapped[intpk]
    spending_request_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("spending_requests.id"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(20))  # "decrease" | "cancel"
    old_minor: Mapped[MinorUnits]
    new_minor: Mapped[MinorUnits]
    reason: Mapped[str] = mapped_column(sa.String(2000))
    actor_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"))
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)

    request: Mapped[SpendingRequest] = relationship(lazy="joined")

    @property
    def currency(self) -> str:
        return self.request.currency


class ConflictDeclaration(Base):
    """A member's declared link to a payee. It covers the payee and every payee that
    the payee stands behind (as owner, director, ...)."""

    __tablename__ = "conflict_declarations"

    id: Mapped[intpk]
    member_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"), index=True)
    payee_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("payees.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.String(2000))
    declared_at: Mapped[Timestamp] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[dt.datetime | None]
    withdrawn_reason: Mapped[str | None] = mapped_column(sa.String(2000))

    @property
    def created_at(self) -> dt.datetime:
        return self.declared_at


class Tranche(Base):
    """One step of an approval's schedule. Tranche 1 is released on approval; tranche
    n+1 when the payee's use of tranche n is accepted for the configured share."""

    __tablename__ = "tranches"

    id: Mapped[intpk]
    spending_request_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("spending_requests.id"), index=True
    )
    seq: Mapped[int]
    amount_minor: Mapped[MinorUnits]
    released_at: Mapped[dt.datetime | None]

    __table_args__ = (sa.UniqueConstraint("spending_request_id", "seq"),)


class TrancheUseReport(Base):
    """The implementing payee's report of how much of a tranche it has used."""

    __tablename__ = "tranche_use_reports"

    id: Mapped[intpk]
    tranche_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("tranches.id"), index=True)
    spending_request_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("spending_requests.id"), index=True
    )
    amount_used_minor: Mapped[MinorUnits]
    reference: Mapped[str] = mapped_column(sa.String(100))
    note: Mapped[str | None] = mapped_column(sa.String(2000))
    status: Mapped[str] = mapped_column(sa.String(20), default="submitted")
    reported_by: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"))
    reported_at: Mapped[Timestamp] = mapped_column(default=utcnow)
    reviewed_by: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime | None]
    review_note: Mapped[str | None] = mapped_column(sa.String(2000))

    request: Mapped[SpendingRequest] = relationship(lazy="joined")

    @property
    def currency(self) -> str:
        return self.request.currency

    @property
    def created_at(self) -> dt.datetime:
        return self.reported_at
