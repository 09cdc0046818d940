"""Running totals of what a request's payments used of each contribution.

``disbursement_allocations.used_after_minor``: what the request's payments have used
of the contribution, the row included. A payment read the sum of every earlier row
of its request for each contribution, so each payment of a request cost more than
the one before (about 1 ms more per 5,000 payments); it
now reads the newest row, through an index on (request, contribution, id), which
replaces the one on (request, contribution). Existing rows get their running totals
(the append-only trigger is set aside for that one UPDATE). ``allocate_disbursement``
and the reversal write them.

Revision ID: 7f3a9c1d5e20
Revises: 9d4a6c3e8f12
Create Date: 2026-11-25 10:10:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7f3a9c1d5e20"
down_revision: str | None = "9d4a6c3e8f12"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL_POSTGRESQL = """
UPDATE disbursement_allocations AS da SET used_after_minor = w.running
FROM (
    SELECT id, sum(base_amount_minor) OVER (
        PARTITION BY spending_request_id, contribution_id ORDER BY id) AS running
    FROM disbursement_allocations) AS w
WHERE w.id = da.id
"""
BACKFILL_SQLITE = """
UPDATE disbursement_allocations SET used_after_minor = (
    SELECT sum(b.base_amount_minor) FROM disbursement_allocations AS b
    WHERE b.spending_request_id = disbursement_allocations.spending_request_id
      AND b.contribution_id = disbursement_allocations.contribution_id
      AND b.id <= disbursement_allocations.id)
"""


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("disbursement_allocations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("used_after_minor", sa.BigInteger(), nullable=True))
    if postgresql:
        trigger = "TRIGGER disbursement_allocations_append_only"
        op.execute(f"ALTER TABLE disbursement_allocations DISABLE {trigger}")
        op.execute(BACKFILL_POSTGRESQL)
        op.execute(f"ALTER TABLE disbursement_allocations ENABLE {trigger}")
    else:
        op.execute(BACKFILL_SQLITE)
    with op.batch_alter_table("disbursement_allocations", schema=None) as batch_op:
        batch_op.alter_column("used_after_minor", existing_type=sa.BigInteger(), nullable=False)
        batch_op.drop_index("ix_disbursement_allocations_request_contribution")
        batch_op.create_index(
            "ix_disbursement_allocations_request_contribution_id",
            ["spending_request_id", "contribution_id", "id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("disbursement_allocations", schema=None) as batch_op:
        batch_op.drop_index("ix_disbursement_allocations_request_contribution_id")
        batch_op.create_index(
            "ix_disbursement_allocations_request_contribution",
            ["spending_request_id", "contribution_id"],
            unique=False,
        )
        batch_op.drop_column("used_after_minor")
