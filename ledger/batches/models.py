"""A batch of payments: its rows, and the payment record of every row paid.

A batch is approved as one spending request (``spending_request_id``) and paid
row by row against it, in chunks. ``batch_payments`` is append-only, and its
unique ``row_id`` makes "no row is paid twice" a fact the database enforces.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ledger.db import Base, BigId, CurrencyCode, MinorUnits, Timestamp, intpk, utcnow

# invalid: refused at intake (never posted); ready: to pay; held: blocked by a
# restriction or a review case (listed, not paid); paid: has its payment record.
ROW_STATES = ("invalid", "ready", "held", "paid")
BATCH_STATES = ("submitted", "posting", "posted")


class Batch(Base):
    __tablename__ = "batches"

    id: Mapped[intpk]
    fund_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("funds.id"), index=True)
    project_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("projects.id"))
    # The payee that stands for the programme on the spending request.
    payee_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("payees.id"))
    spending_request_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("spending_requests.id"), unique=True
    )
    name: Mapped[str] = mapped_column(sa.String(200))
    currency: Mapped[CurrencyCode]
    total_minor: Mapped[MinorUnits]
    status: Mapped[str] = mapped_column(sa.String(20), default="submitted")
    source_sha256: Mapped[str] = mapped_column(sa.String(64))
    # The watchlist versions the rows were screened against at intake: posting
    # screens the names again only when a newer list has been imported since.
    screened_against: Mapped[str | None] = mapped_column(sa.String(100))
    paid_on: Mapped[dt.date | None]
    chunks_posted: Mapped[int] = mapped_column(sa.Integer, default=0)
    submitted_by: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"))
    posted_by: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"))
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)
    posting_started_at: Mapped[dt.datetime | None]
    posted_at: Mapped[dt.datetime | None]
    # Heartbeat of the run that posts the batch (any process): progress is read
    # from the rows, this only says when a chunk was last committed.
    last_chunk_at: Mapped[dt.datetime | None]


class BatchRow(Base):
    """One line of the upload. ``line`` is the line number in the file (CSV: the
    header is line 1) or the 1-based position in a JSON list."""

    __tablename__ = "batch_rows"

    id: Mapped[intpk]
    batch_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("batches.id"))
    line: Mapped[int] = mapped_column(sa.Integer)
    state: Mapped[str] = mapped_column(sa.String(10))
    name: Mapped[str | None] = mapped_column(sa.String(300))
    national_id: Mapped[str | None] = mapped_column(sa.String(64))
    original_script_name: Mapped[str | None] = mapped_column(sa.String(300))
    # YYYY or YYYY-MM-DD, as uploaded: tells apart people of the same name.
    birth_date: Mapped[str | None] = mapped_column(sa.String(10))
    account: Mapped[str | None] = mapped_column(sa.String(64))
    amount_minor: Mapped[int | None] = mapped_column(sa.BigInteger)
    currency: Mapped[str | None] = mapped_column(sa.String(3))
    reference: Mapped[str | None] = mapped_column(sa.String(100))
    payee_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("payees.id"), index=True)
    # invalid: {field: [messages]}; held: {"blocks": [...]} (what stopped the payment).
    problems: Mapped[dict[str, Any] | None]

    __table_args__ = (
        sa.UniqueConstraint("batch_id", "line"),
        sa.Index("ix_batch_rows_batch_id_state", "batch_id", "state", "id"),
        sa.Index("ix_batch_rows_reference", "reference"),
    )


class BatchPayment(Base):
    """The record of one row paid: append-only, at most one per row."""

    __tablename__ = "batch_payments"

    id: Mapped[intpk]
    batch_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("batches.id"), index=True)
    row_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("batch_rows.id"), unique=True)
    payee_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("payees.id"), index=True)
    amount_minor: Mapped[MinorUnits]
    currency: Mapped[CurrencyCode]
    reference: Mapped[str] = mapped_column(sa.String(100))
    # The chunk's disbursement (one per chunk, to the programme's payee, against the
    # batch's approval) and its journal entry, whose totals carry this payment.
    disbursement_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("disbursements.id"), index=True
    )
    # The chunk's journal entry, which carries this payment in its total.
    journal_entry_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("journal_entries.id"))
    paid_on: Mapped[dt.date]
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)
