"""Restrictions on payees, and the record of every refused attempt."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ledger.db import Base, BigId, Timestamp, intpk, utcnow


class Restriction(Base):
    __tablename__ = "restrictions"

    id: Mapped[intpk]
    payee_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("payees.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.String(2000))
    # "manual", or "watchlist" with the entry as evidence.
    source: Mapped[str] = mapped_column(sa.String(20), default="manual")
    evidence: Mapped[dict[str, Any] | None]
    set_by: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"))
    set_at: Mapped[Timestamp] = mapped_column(default=utcnow)
    lifted_by: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"))
    lifted_at: Mapped[dt.datetime | None]
    lift_reason: Mapped[str | None] = mapped_column(sa.String(2000))

    @property
    def active(self) -> bool:
        return self.lifted_at is None

    @property
    def created_at(self) -> dt.datetime:
        return self.set_at


class Refusal(Base):
    """A refused attempt: who tried what, when, and why it was refused, with evidence.

    Written in its own transaction after the refused work is rolled back, so the
    evidence survives the refusal."""

    __tablename__ = "refusals"

    id: Mapped[intpk]
    occurred_at: Mapped[Timestamp] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(sa.String(100))
    code: Mapped[str] = mapped_column(sa.String(40), index=True)
    detail: Mapped[str] = mapped_column(sa.String(2000))
    payee_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("payees.id"), index=True)
    spending_request_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("spending_requests.id")
    )
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    request_id: Mapped[str | None] = mapped_column(sa.String(64))

    @property
    def created_at(self) -> dt.datetime:
        return self.occurred_at
