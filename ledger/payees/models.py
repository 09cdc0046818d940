"""Payees and the people and organisations behind them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ledger.db import Base, BigId, Timestamp, intpk, utcnow

PAYEE_KINDS = ("organization", "individual")
PARTY_KINDS = ("person", "organization")
PARTY_ROLES = ("owner", "director", "signatory", "beneficial_owner", "manager", "other")


class Payee(Base):
    __tablename__ = "payees"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(sa.String(300), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    country: Mapped[str] = mapped_column(sa.String(2))
    aliases: Mapped[list[Any]] = mapped_column(default=list)
    original_script_name: Mapped[str | None] = mapped_column(sa.String(300))
    # [{"type": "registration", "value": "562345678"}, ...]
    identifiers: Mapped[list[Any]] = mapped_column(default=list)
    birth_date: Mapped[dt.date | None]
    bank_account: Mapped[str | None] = mapped_column(sa.String(64))
    created_by: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"))
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)

    related_parties: Mapped[list[RelatedParty]] = relationship(
        back_populates="payee",
        lazy="selectin",
        order_by="RelatedParty.id",
        foreign_keys="RelatedParty.payee_id",
    )


class RelatedParty(Base):
    """An owner, director or signatory. ``linked_payee_id`` names a payee the party
    also is, so that a restriction on that payee blocks this one too."""

    __tablename__ = "related_parties"

    id: Mapped[intpk]
    payee_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("payees.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(300))
    kind: Mapped[str] = mapped_column(sa.String(20))
    role: Mapped[str] = mapped_column(sa.String(30))
    aliases: Mapped[list[Any]] = mapped_column(default=list)
    original_script_name: Mapped[str | None] = mapped_column(sa.String(300))
    birth_date: Mapped[dt.date | None]
    linked_payee_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("payees.id"), index=True
    )
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)

    payee: Mapped[Payee] = relationship(back_populates="related_parties", foreign_keys=[payee_id])
