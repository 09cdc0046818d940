"""Review cases in groups (issue 23, item 3): each case's payee name and listed
name as the matcher reads them, and the decisions that clear a group at once.

Cases opened before keep both keys empty until ``triage`` reads them from their
evidence.

Revision ID: 9e3a7c5d1f28
Revises: 8d2f6b1e4a07
Create Date: 2026-12-05 01:10:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ledger.db

revision: str = "9e3a7c5d1f28"
down_revision: str | None = "8d2f6b1e4a07"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("review_cases") as batch:
        batch.add_column(sa.Column("name_key", sa.String(300), nullable=True))
        batch.add_column(sa.Column("listed_key", sa.String(300), nullable=True))
        batch.create_index("ix_review_cases_group", ["status", "entry_id", "listed_key"])
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "group_clearances",
        sa.Column("id", big_id, nullable=False),
        sa.Column("entry_id", big_id, nullable=False),
        sa.Column("listed_key", sa.String(length=300), nullable=False),
        sa.Column("name_keys", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=2000), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("cases_proposed", sa.Integer(), nullable=False),
        sa.Column("cases_cleared", sa.Integer(), nullable=False),
        sa.Column("proposed_by", big_id, nullable=False),
        sa.Column("proposed_at", ledger.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("approved_by", big_id, nullable=True),
        sa.Column("approved_at", ledger.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["watchlist_entries.id"],
            name=op.f("fk_group_clearances_entry_id_watchlist_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by"], ["users.id"], name=op.f("fk_group_clearances_proposed_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["approved_by"], ["users.id"], name=op.f("fk_group_clearances_approved_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_clearances")),
    )
    op.create_index("ix_group_clearances_entry", "group_clearances", ["entry_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_group_clearances_entry", table_name="group_clearances")
    op.drop_table("group_clearances")
    with op.batch_alter_table("review_cases") as batch:
        batch.drop_index("ix_review_cases_group")
        batch.drop_column("listed_key")
        batch.drop_column("name_key")
