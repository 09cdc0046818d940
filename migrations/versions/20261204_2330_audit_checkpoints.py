"""audit_checkpoints: the chain head signed with a key kept outside the database.

Append-only, like the chain it vouches for: PostgreSQL refuses UPDATE, DELETE and
TRUNCATE on it (``ledger/invariants.py``), and the application's role may not
update it. See ``ledger/audit/checkpoints.py`` and docs/security.md.

Revision ID: 2e8b5d1c7a40
Revises: 6a1f3c8e2d94
Create Date: 2026-12-04 23:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ledger.db
from ledger import invariants

revision: str = "2e8b5d1c7a40"
down_revision: str | None = "6a1f3c8e2d94"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("signed_at", ledger.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )
    if op.get_bind().dialect.name == "postgresql":
        for statement in invariants.append_only("audit_checkpoints", app_role=True):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in invariants.drop_append_only("audit_checkpoints"):
            op.execute(statement)
    op.drop_table("audit_checkpoints")
