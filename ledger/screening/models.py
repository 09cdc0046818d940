"""Watchlists as imported (each import a version), their entries, and review cases."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ledger.db import Base, BigId, Timestamp, intpk, utcnow

SOURCES = ("un", "ofac-sdn", "ofac-consolidated", "fund")
CASE_STATES = ("open", "confirmed", "cleared")


class WatchlistVersion(Base):
    """One import of one source: what it added, changed and removed."""

    __tablename__ = "watchlist_versions"

    id: Mapped[intpk]
    source: Mapped[str] = mapped_column(sa.String(30), index=True)
    number: Mapped[int]
    file_sha256: Mapped[str] = mapped_column(sa.String(64))
    published_at: Mapped[str | None] = mapped_column(sa.String(40))
    entries: Mapped[int]
    added: Mapped[int]
    changed: Mapped[int]
    removed: Mapped[int]
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    imported_by: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"))
    imported_at: Mapped[Timestamp] = mapped_column(default=utcnow)

    __table_args__ = (sa.UniqueConstraint("source", "number"),)

    @property
    def created_at(self) -> dt.datetime:
        return self.imported_at


class WatchlistEntry(Base):
    """One entry's content as of a version. Content never changes: a changed entry
    is a new row, and the old one is retired, so that a clearance (which names the
    row) holds only while the entry is unchanged."""

    __tablename__ = "watchlist_entries"

    id: Mapped[intpk]
    source: Mapped[str] = mapped_column(sa.String(30))
    source_key: Mapped[str] = mapped_column(sa.String(80))
    kind: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(500))
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    data: Mapped[dict[str, Any]]
    version_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("watchlist_versions.id"))
    retired_in_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("watchlist_versions.id"))
    # "changed" or "removed", with retired_in_id.
    retired_as: Mapped[str | None] = mapped_column(sa.String(10))

    __table_args__ = (
        sa.Index("ix_watchlist_entries_source_key", "source", "source_key"),
        sa.Index("ix_watchlist_entries_active", "retired_in_id"),
    )

    @property
    def active(self) -> bool:
        return self.retired_in_id is None


class ReviewCase(Base):
    """A possible match between a payee (or a party behind it) and a list entry,
    or a delisting that touches a restriction. Blocks payment while open."""

    __tablename__ = "review_cases"

    id: Mapped[intpk]
    payee_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("payees.id"), index=True)
    related_party_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("related_parties.id"))
    entry_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("watchlist_entries.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # "match" | "delisting"
    status: Mapped[str] = mapped_column(sa.String(20), default="open", index=True)
    score: Mapped[str] = mapped_column(sa.String(12))  # exact decimal text, e.g. "0.9312"
    matcher_version: Mapped[str] = mapped_column(sa.String(20))
    evidence: Mapped[dict[str, Any]]
    trigger: Mapped[str] = mapped_column(sa.String(60))
    restriction_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("restrictions.id"))
    opened_by: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"))
    opened_at: Mapped[Timestamp] = mapped_column(default=utcnow)
    resolved_by: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"))
    resolved_at: Mapped[dt.datetime | None]
    resolution_reason: Mapped[str | None] = mapped_column(sa.String(2000))
    # The payee's name that matched, and the listed name it matched, as the matcher
    # reads them (``triage.name_key``). Cases of one entry on one listed name are a
    # group, decided at once; a clearance holds for the payee names it cleared.
    name_key: Mapped[str | None] = mapped_column(sa.String(300))
    listed_key: Mapped[str | None] = mapped_column(sa.String(300))

    entry: Mapped[WatchlistEntry] = relationship(lazy="joined")

    __table_args__ = (sa.Index("ix_review_cases_group", "status", "entry_id", "listed_key"),)

    @property
    def created_at(self) -> dt.datetime:
        return self.opened_at


class GroupClearance(Base):
    """One decision that clears a group of review cases: every open case of one
    listed entry (its content as it stands: a changed entry is a new row) on one of
    its names (``listed_key``). It holds, from its approval until the entry changes,
    for the payee names it cleared (``name_keys``): a later hit of such a name on
    that entry opens no case. A group of more than ``TRIAGE_SECOND_OFFICER_ABOVE``
    cases is only proposed until a second compliance officer approves it."""

    __tablename__ = "group_clearances"

    id: Mapped[intpk]
    entry_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("watchlist_entries.id"))
    listed_key: Mapped[str] = mapped_column(sa.String(300))
    name_keys: Mapped[list[Any]]
    reason: Mapped[str] = mapped_column(sa.String(2000))
    status: Mapped[str] = mapped_column(sa.String(10))  # "proposed" | "approved"
    cases_proposed: Mapped[int]
    cases_cleared: Mapped[int] = mapped_column(default=0)
    proposed_by: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"))
    proposed_at: Mapped[Timestamp] = mapped_column(default=utcnow)
    approved_by: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"))
    approved_at: Mapped[dt.datetime | None]

    __table_args__ = (sa.Index("ix_group_clearances_entry", "entry_id", "status"),)

    @property
    def created_at(self) -> dt.datetime:
        return self.proposed_at
