"""Drop ix_disbursement_allocations_spending_request_id: the index on
(spending_request_id, contribution_id) serves every lookup by request alone, and
each payment paid for maintaining both.

Revision ID: 9d4a6c3e8f12
Revises: 5b1e7d2c9a04
Create Date: 2026-11-25 07:10:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "9d4a6c3e8f12"
down_revision: str | None = "5b1e7d2c9a04"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("disbursement_allocations", schema=None) as batch_op:
        batch_op.drop_index("ix_disbursement_allocations_spending_request_id")


def downgrade() -> None:
    with op.batch_alter_table("disbursement_allocations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_disbursement_allocations_spending_request_id",
            ["spending_request_id"],
            unique=False,
        )
