"""Jobs (issue 26, item 1): background work on a queue, each job's state, progress,
error and attempts in the database; a unique dedupe key keeps one scheduled job per
period however many schedulers enqueue it.

The application role's default privileges (revision 7e2c1a9b5d40) give it SELECT,
INSERT and UPDATE on the new table: a job is never deleted.

Revision ID: b7d1e3f5a9c2
Revises: a4c8e2f6b0d3
Create Date: 2026-12-06 09:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ledger.db

revision: str = "b7d1e3f5a9c2"
down_revision: str | None = "a4c8e2f6b0d3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    moment = ledger.db.UTCDateTime(timezone=True)
    op.create_table(
        "jobs",
        sa.Column("id", big_id, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("arguments", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("progress", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=120), nullable=True),
        sa.Column("created_by", big_id, nullable=True),
        sa.Column("created_at", moment, nullable=False),
        sa.Column("sent_at", moment, nullable=True),
        sa.Column("started_at", moment, nullable=True),
        sa.Column("finished_at", moment, nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_jobs_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_jobs_dedupe_key")),
    )
    op.create_index("ix_jobs_state_kind", "jobs", ["state", "kind", "id"])


def downgrade() -> None:
    op.drop_index("ix_jobs_state_kind", table_name="jobs")
    op.drop_table("jobs")
