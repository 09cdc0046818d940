"""An index for what each payment reads of its request's earlier ones.

This revision also created ``ledger_disburse()``, a PL/pgSQL copy of the payment's
rules; that copy is gone (revision 4d2a7e9c1b58 drops it where it exists): every
rule lives once, in Python.

Revision ID: 3c8d2f61a7b9
Revises: 0718ec52de5d
Create Date: 2026-11-25 04:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "3c8d2f61a7b9"
down_revision: str | None = "0718ec52de5d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every payment reads what the request's payments used of each contribution.
    with op.batch_alter_table("disbursement_allocations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_disbursement_allocations_request_contribution",
            ["spending_request_id", "contribution_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("disbursement_allocations", schema=None) as batch_op:
        batch_op.drop_index("ix_disbursement_allocations_request_contribution")
