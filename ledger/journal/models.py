"""The double-entry journal. Entries are never changed or deleted; a correction is
a new entry that points at what it corrects."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ledger.db import Base, BigId, CurrencyCode, MinorUnits, Timestamp, intpk, utcnow


class JournalEntry(Base):
    __tablename__ = "journal_entries"

    id: Mapped[intpk]
    fund_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("funds.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(30))
    value_date: Mapped[dt.date]
    memo: Mapped[str] = mapped_column(sa.String(500))
    source_type: Mapped[str] = mapped_column(sa.String(40))
    source_id: Mapped[int] = mapped_column(sa.BigInteger)
    reverses_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("journal_entries.id"))
    created_by: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"))
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)

    lines: Mapped[list[JournalLine]] = relationship(
        back_populates="entry", order_by="JournalLine.id", lazy="selectin"
    )

    __table_args__ = (sa.Index("ix_journal_entries_source", "source_type", "source_id"),)


class JournalLine(Base):
    """One side of an entry. ``amount_minor`` is signed: debit positive, credit
    negative, in ``currency``; ``base_amount_minor`` is the same in the fund's base
    currency at the recorded rate. Fund, date and kind are copied from the entry so
    that reports aggregate lines without a join."""

    __tablename__ = "journal_lines"

    id: Mapped[intpk]
    entry_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("journal_entries.id"), index=True)
    fund_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("funds.id"))
    value_date: Mapped[dt.date]
    kind: Mapped[str] = mapped_column(sa.String(30))
    account: Mapped[str] = mapped_column(sa.String(40))
    currency: Mapped[CurrencyCode]
    amount_minor: Mapped[MinorUnits]
    base_amount_minor: Mapped[MinorUnits]
    # Dimensions, for reports and the donor trace.
    donor_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("donors.id"))
    pledge_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("pledges.id"))
    project_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("projects.id"))
    payee_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("payees.id"))
    spending_request_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("spending_requests.id")
    )

    entry: Mapped[JournalEntry] = relationship(back_populates="lines")

    __table_args__ = (
        sa.Index("ix_journal_lines_fund_date_account", "fund_id", "value_date", "account"),
    )
