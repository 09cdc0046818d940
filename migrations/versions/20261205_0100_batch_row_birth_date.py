"""A batch row's birth date (or year), to tell apart people of the same name
(issue 23): ``YYYY`` or ``YYYY-MM-DD``, as the upload gives it.

Revision ID: 8d2f6b1e4a07
Revises: 7c4e1a2b9d53
Create Date: 2026-12-05 01:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8d2f6b1e4a07"
down_revision: str | None = "7c4e1a2b9d53"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("batch_rows") as batch:
        batch.add_column(sa.Column("birth_date", sa.String(10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("batch_rows") as batch:
        batch.drop_column("birth_date")
