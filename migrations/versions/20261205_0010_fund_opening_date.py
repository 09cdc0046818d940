"""A fund's opening date: no entry of the fund is dated before it (SPEC §3.12).

Optional, so that funds made before it keep working; without it, the fixed lower
bound ``VALUE_DATE_EARLIEST`` holds.

Revision ID: 7c4e1a2b9d53
Revises: 5f7c3a9e2b16
Create Date: 2026-12-05 00:10:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c4e1a2b9d53"
down_revision: str | None = "5f7c3a9e2b16"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("funds") as batch:
        batch.add_column(sa.Column("opens_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("funds") as batch:
        batch.drop_column("opens_on")
