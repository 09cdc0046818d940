"""Stored answers to money-moving requests, keyed by the client's Idempotency-Key."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ledger.db import Base, BigId, Timestamp, intpk, utcnow


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(sa.String(200))
    method: Mapped[str] = mapped_column(sa.String(10))
    path: Mapped[str] = mapped_column(sa.String(300))
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    # Filled in, in the same transaction, once the work is done.
    status_code: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)

    __table_args__ = (sa.UniqueConstraint("user_id", "key"),)
