"""A document: one file attached to one record. Append-only (on PostgreSQL by
triggers, ``ledger/invariants.py``): an attachment is never edited or removed; the
same bytes attached twice, or to two records, are two rows naming one stored file."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ledger.db import Base, BigId, Timestamp, intpk, utcnow

# The records a document may belong to (``services.KINDS`` says who may attach
# and who may read, per kind).
RECORD_TYPES = ("spending_request", "use_report", "vote", "review_case")


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[intpk]
    record_type: Mapped[str] = mapped_column(sa.String(20))
    record_id: Mapped[int] = mapped_column(BigId)
    # The key of the stored bytes (``store.Store``): lowercase hex.
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    # The name it was uploaded with (its last path component), as the uploader wrote it.
    name: Mapped[str] = mapped_column(sa.String(255))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    # The type read from the content (``services.content_type``), not the one declared.
    content_type: Mapped[str] = mapped_column(sa.String(100))
    uploaded_by: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"))
    uploaded_at: Mapped[Timestamp] = mapped_column(default=utcnow)

    __table_args__ = (
        sa.Index("ix_documents_record", "record_type", "record_id", "id"),
        sa.CheckConstraint(
            "record_type IN ('spending_request', 'use_report', 'vote', 'review_case')",
            name="record_type",
        ),
        sa.CheckConstraint("size > 0", name="size_positive"),
    )
