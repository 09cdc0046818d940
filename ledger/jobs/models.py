"""A job: long work done by a worker, not in the request that asked for it.

The row is the job's whole state: the queue's message carries only its id. Any
worker on any machine loads the job, runs the handler for its ``kind`` and records
progress and outcome here, where ``GET /api/v1/jobs/{id}`` reads them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ledger.db import Base, BigId, Timestamp, intpk, utcnow

# queued: waiting for a worker (its first run, or a retry after a transient
# failure, with that failure's error); running: a worker has it; done and failed
# are final.
JOB_STATES = ("queued", "running", "done", "failed")
FINISHED = ("done", "failed")


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[intpk]
    kind: Mapped[str] = mapped_column(sa.String(60))
    arguments: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(sa.String(10), default="queued")
    progress: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(sa.Text)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    # A scheduled job's period ("requests.expire:2026-12-06T14"): however many
    # schedulers enqueue it, the unique key keeps one job. NULL for the others.
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(120), unique=True)
    created_by: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"))
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)
    # When a message for it was last handed to the broker: the scheduler sends
    # again a job left queued long after that (a send lost after its commit).
    sent_at: Mapped[dt.datetime | None]
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]

    __table_args__ = (sa.Index("ix_jobs_state_kind", "state", "kind", "id"),)
