"""The audit trail: one event per write, chained by hash so a rewrite is detectable."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ledger.db import Base, BigId, Timestamp, intpk

GENESIS_HASH = "0" * 64


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[intpk]
    # Position in the chain: gap-free, assigned under the chain head's lock.
    seq: Mapped[int] = mapped_column(sa.BigInteger, unique=True)
    occurred_at: Mapped[Timestamp]
    actor_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"), index=True)
    actor_name: Mapped[str | None] = mapped_column(sa.String(200))
    action: Mapped[str] = mapped_column(sa.String(60), index=True)
    entity_type: Mapped[str] = mapped_column(sa.String(40))
    entity_id: Mapped[str | None] = mapped_column(sa.String(40))
    request_id: Mapped[str | None] = mapped_column(sa.String(64))
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64), unique=True)

    __table_args__ = (sa.Index("ix_audit_events_entity", "entity_type", "entity_id"),)

    @property
    def created_at(self) -> dt.datetime:
        return self.occurred_at


class AuditChainHead(Base):
    """A single row: the last event's sequence and hash. Locking it serialises
    the chain; it is taken at commit time, so it is held only for a few inserts."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(sa.BigInteger)
    hash: Mapped[str] = mapped_column(sa.String(64))


class AuditCheckpoint(Base):
    """The chain head (sequence, hash) signed with a key kept outside the database,
    at a moment: auditors keep copies elsewhere, so that even the database's
    administrator cannot rewrite history unseen (docs/security.md). Append-only."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[intpk]
    seq: Mapped[int] = mapped_column(sa.BigInteger)
    hash: Mapped[str] = mapped_column(sa.String(64))
    signed_at: Mapped[Timestamp]
    # Why it was signed: "on demand" (the CLI, a scheduler) or "period close …".
    reason: Mapped[str] = mapped_column(sa.String(100))
    # The Ed25519 public key (raw, base64) and its signature (base64) of ``message``.
    public_key: Mapped[str] = mapped_column(sa.String(64))
    signature: Mapped[str] = mapped_column(sa.String(100))

    @property
    def created_at(self) -> dt.datetime:
        return self.signed_at
